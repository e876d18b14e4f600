/**
 * Domain types shared by every layer of codiusd. Modules at the edges (HTTP, store, runtime drivers, ILP)
 * translate to and from these shapes; nothing here does I/O.
 */

/** A 52-character lower-case RFC 4648 base32 sha256 of a manifest's canonical JSON. */
export type ManifestHash = string;

/** Lifecycle of a pod as the store records it. The store is the source of truth. */
export type PodState = 'starting' | 'running' | 'terminating';

export interface PodRecord {
  hash: ManifestHash;
  state: PodState;
  /** When the current paid run started (ms since epoch). */
  startedAt: number;
  /** When the paid time runs out (ms since epoch). */
  expiresAt: number;
  /** Memory reserved for the pod, in MiB. */
  memoryMiB: number;
  /** Seconds of paid time bought for this manifest over its life on this host. */
  totalUptimeSeconds: number;
  /** TCP port the pod serves HTTP on, if its manifest declares one. */
  port: number | null;
  /** Pod IP on the runtime's network, once known. */
  ip: string | null;
}

/** Aggregate figures about pods, for /info and capacity decisions. */
export interface PodUsage {
  runningCount: number;
  reservedMemoryMiB: number;
}

export interface PeerRecord {
  uri: string;
  addedAt: number;
  lastSeenAt: number | null;
  consecutiveFailures: number;
}

/**
 * Why a ledger entry was written.
 * - `upload` / `extend`: a paid POST / PUT that bought time (credit spent on it shows as negative credit);
 * - `shortfall`: a payment that did not reach the price in time; what arrived becomes credit;
 * - `unserved`: paid (money and credit) but the pod could not start or was gone; all of it becomes credit.
 */
/** `recovered`: money a payment received that a crash kept from being booked, found at the next start. */
export type LedgerPurpose = 'upload' | 'extend' | 'shortfall' | 'unserved' | 'recovered' | 'rent';

/**
 * One line of the append-only ledger. `amount` is money actually received with it; `credit` changes the
 * manifest's credit balance (what it has paid but not yet been served). Profit and balances are sums.
 */
export interface LedgerEntry {
  id: number;
  at: number;
  manifestHash: ManifestHash | null;
  /** Integer amount received, in the asset's base units, as a decimal string (may exceed 2^53). */
  amount: string;
  /** Signed change of the manifest's credit, in base units, as a decimal string. */
  credit: string;
  assetCode: string;
  assetScale: number;
  purpose: LedgerPurpose;
  /** sha256 hex of the pay token; the token itself is never stored. */
  payTokenHash: string | null;
  /** How the money came: `stream`, `open-payments` (`credit` moves no money). */
  method: string;
  /** The method's name for the payment, unique among lines that book money. */
  paymentRef: string | null;
}

/** Money of one asset, from the ledger: received in all, still owed as credit, and earned (the rest). */
export interface AssetAccount {
  assetCode: string;
  assetScale: number;
  received: bigint;
  outstandingCredit: bigint;
  earned: bigint;
}

/**
 * What a request paid, handed to the pod lifecycle so the ledger line is written in the same transaction
 * as the expiry it buys (or turned into credit if nothing could be bought).
 */
export interface Payment {
  /** How it was paid: `stream`, `open-payments`, or `credit` when the manifest's credit paid all of it. */
  method: 'stream' | 'open-payments' | 'credit';
  asset: HostAsset;
  /** What the payer was asked for: the price less the credit spent. */
  due: bigint;
  /** Money received for this request (more than `due` when a payer overpaid: the rest is credit). */
  received: bigint;
  /** Earlier credit of this manifest spent on this request. */
  creditUsed: bigint;
  payTokenHash: string | null;
  /** The method's name for the payment (an incoming payment's URL): its money is booked once. */
  ref: string | null;
}

/** What a 402 offers the payer for one payment method: headers, and fields of the JSON body. */
export interface PaymentOffer {
  headers?: Record<string, string>;
  body?: Record<string, unknown>;
}

/** The asset the host is paid in, learned over ILDCP. */
export interface HostAsset {
  code: string;
  scale: number;
}

/** Host figures reported at GET /info. Field order is the one Codius clients and peers have always seen. */
export interface HostInfo {
  fullMem: boolean;
  acceptingUploads: boolean;
  /** Bytes still available to pods: total memory × CODIUS_MAX_MEMORY_FRACTION − memory reserved by pods. */
  serverFreeMemory: number;
  serverUptime: number;
  serviceUptime: number;
  avgLoad: number;
  numPeers: number;
  /** Asset code the host is paid in, or null while it is not known (no ILP connection yet). */
  currency: string | null;
  costPerMonth: number;
  uri: string;
  selfTestSuccess: boolean;
  /**
   * A reconcile pass has gone through every recorded pod since codiusd started; until then, paid pods the
   * runtime lost may still be coming back (pods that run are served from the start).
   */
  podsReconciled: boolean;
  runningContracts?: number;
  peers?: string[];
  /** How the host can be paid now, each with its asset and price per month (a decimal string). */
  paymentMethods?: Array<{ method: string; assetCode: string; assetScale: number; costPerMonth: string }>;
}

/** A container of a manifest. */
export interface ManifestContainer {
  id: string;
  image: string;
  command?: string[];
  workdir?: string;
  environment?: Record<string, string>;
}

/** A public variable; with `encoding: 'private:sha256'` its value is the hash of a private entry. */
export interface ManifestVar {
  value: string;
  encoding?: 'private:sha256';
}

/** The public manifest: what is hashed, stored and shown. It never holds private values. */
export interface Manifest {
  name: string;
  version: string;
  port?: string;
  machine?: 'small';
  containers: ManifestContainer[];
  vars?: Record<string, ManifestVar>;
  debug?: boolean;
}

export interface PrivateVar {
  nonce: string;
  value: string;
}

/** The body of POST/OPTIONS /pods. */
export interface PodRequest {
  manifest: Manifest;
  private?: { vars?: Record<string, PrivateVar> };
}

export interface EnvVar {
  name: string;
  value: string;
  /** Resolved from a private variable: never log, show or store it in clear. */
  secret: boolean;
}

/** One container of a pod plan, runtime-neutral. */
export interface ContainerPlan {
  /** The manifest's container id. */
  id: string;
  /** `<hash>__<id>`, the container name under hyperd. */
  name: string;
  image: string;
  command?: string[];
  workdir?: string;
  /** Injected CODIUS* variables first, then the host's own, then the user's in manifest order. */
  env: EnvVar[];
}

/** A runtime-neutral description of the pod to run for a manifest; drivers turn it into their own specs. */
export interface PodPlan {
  hash: ManifestHash;
  manifest: Manifest;
  containers: ContainerPlan[];
  /** For the whole pod (hyperd gives one VM these). */
  resources: { vcpu: number; memoryMiB: number };
  /** TCP port the pod serves HTTP on, or null when the manifest has no usable port. */
  port: number | null;
  debug: boolean;
}
