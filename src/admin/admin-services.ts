import type { CertificateReport } from '../acme/tls-source.js';
import type { HostAsset, ManifestHash, PeerRecord, PodRecord } from '../domain/types.js';
import type { PriceSetting } from '../host/price-setting.js';
import type { Logger } from '../logger.js';
import type { HostMetrics } from '../metrics/host-metrics.js';
import type { LedgerRepository } from '../store/repositories/ledger.js';

/** The assets the host takes payments in now: the STREAM provider's and each method's. */
export function assetsTaken(services: Pick<AdminServices, 'asset' | 'paymentMethods'>): HostAsset[] {
  const stream = services.asset();
  return [...(stream ? [stream] : []), ...services.paymentMethods().map((method) => method.asset)];
}

/** A pod's own ILP balance in base units, with its asset. */
export interface PodBalance {
  amount: string;
  assetCode: string;
  assetScale: number;
}

/** The self test as the admin listener shows it. */
export interface SelfTestView {
  selfTestSuccess: boolean;
  uploadSuccess: boolean;
  httpSuccess: boolean;
  wsSuccess: boolean;
  running: boolean;
  finishedAt: number | null;
  failure: string | null;
}

/** Everything the admin listener reads or changes, each from its owner. */
export interface AdminServices {
  pods: {
    list(): Promise<PodRecord[]>;
    get(hash: ManifestHash): Promise<PodRecord | undefined>;
  };
  podBalance?: (hash: ManifestHash) => Promise<PodBalance | null>;
  ledger: Pick<LedgerRepository, 'accounts' | 'movementsSince' | 'receivedByMethod'>;
  /** The STREAM provider's asset, while the host's ILP link is up. */
  asset(): HostAsset | null;
  /** The payment methods that take payments now, each with its asset and price per month in it. */
  paymentMethods(): Array<{ method: string; asset: HostAsset; costPerMonth: string }>;
  price: PriceSetting;
  peers: { list(limit: number): Promise<PeerRecord[]>; count(): Promise<number> };
  metrics: HostMetrics;
  selfTest(): SelfTestView | null;
  /** The certificates the public port serves (empty without TLS). */
  certificates(): CertificateReport[];
  /** Pods kept running from their tenants' wallets now. */
  renewalsActive(): Promise<number>;
  /** Settings shown on the dashboard (never secrets). */
  settings(): Record<string, string | number | boolean | null>;
  /** The host's public URI, for pod URLs. */
  publicUri: string;
  logger: Logger;
  now?: () => number;
}
