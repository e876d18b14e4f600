import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * What the rest of codiusd reports as it works. Labels are from small fixed sets (status classes, asset
 * codes, operation names): never a manifest hash, an address or anything a client chooses freely.
 */
export interface MetricsRecorder {
  /** A POST /pods or PUT /pods answered, by status class. */
  podRequestAnswered(kind: 'upload' | 'extension', status: number): void;
  /** A payment through a method ended: complete (bought what it paid for) or short (kept as credit). */
  paymentEnded(method: string, assetCode: string, outcome: 'complete' | 'short', amount: bigint): void;
  podStarted(seconds: number): void;
  runtimeCallFailed(operation: string): void;
  proxyAnswered(status: number, seconds: number): void;
  /** A renewal from a tenant's wallet: done, stopped for good, or to be tried again. */
  renewal(outcome: 'renewed' | 'stopped' | 'retry'): void;
}

/** Figures read when Prometheus scrapes, from their owners (the store, the ILP link, the self test). */
export interface MetricsSources {
  podsByState(): Promise<Record<string, number>>;
  peerCount(): Promise<number>;
  ilpConnected(): boolean;
  selfTestPassed(): boolean;
  /** The certificates served: whose, until when, and renewals failed in a row. */
  certificates(): Array<{ kind: 'host' | 'custom'; notAfter: string; failures: number }>;
  money(): Promise<
    Array<{
      assetCode: string;
      received: number;
      earned: number;
      credit: number;
      /** Received per payment method. */
      methods: Record<string, number>;
    }>
  >;
}

export interface HostMetrics extends MetricsRecorder {
  readonly contentType: string;
  /** The exposition text of every metric. */
  render(): Promise<string>;
  /** Counts for the dashboard's activity plots: totals since start. */
  activityTotals(): { uploads: number; extensions: number; proxied: Record<string, number> };
}

const POD_STATES = ['starting', 'running', 'terminating'] as const;
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** Asset codes as labels are bounded: a host is paid in its provider's one or two assets. */
const MAX_ASSET_CODES = 8;

export function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'none';
}

/** Gauges whose values are read from their owners when Prometheus scrapes. */
function registerScrapedGauges(
  registry: Registry,
  sources: MetricsSources,
  assetLabel: (code: string) => string,
): void {
  new Gauge({
    name: 'codiusd_pods',
    help: 'Pods this host holds, by state.',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await sources.podsByState();
      for (const state of POD_STATES) this.set({ state }, counts[state] ?? 0);
    },
  });
  for (const [name, help, key] of [
    ['codiusd_money_received_base_units', 'Everything the ledger holds as received, base units.', 'received'],
    ['codiusd_money_earned_base_units', 'Received and served (not credit), base units.', 'earned'],
    ['codiusd_money_credit_base_units', 'Received, not yet served: credit of manifests.', 'credit'],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['asset_code'],
      registers: [registry],
      async collect() {
        for (const account of await sources.money()) {
          this.set({ asset_code: assetLabel(account.assetCode) }, account[key]);
        }
      },
    });
  }
  new Gauge({
    name: 'codiusd_money_received_by_method_base_units',
    help: 'Everything the ledger holds as received, by payment method, base units.',
    labelNames: ['method', 'asset_code'],
    registers: [registry],
    async collect() {
      for (const account of await sources.money()) {
        for (const [method, received] of Object.entries(account.methods)) {
          this.set({ method, asset_code: assetLabel(account.assetCode) }, received);
        }
      }
    },
  });
  new Gauge({
    name: 'codiusd_ilp_connected',
    help: '1 while the ILP provider link is up.',
    registers: [registry],
    collect() {
      this.set(sources.ilpConnected() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'codiusd_peers',
    help: 'Peer hosts known.',
    registers: [registry],
    async collect() {
      this.set(await sources.peerCount());
    },
  });
  registerCertificateGauges(registry, sources);
  new Gauge({
    name: 'codiusd_self_test_passed',
    help: '1 while the last self test passed.',
    registers: [registry],
    collect() {
      this.set(sources.selfTestPassed() ? 1 : 0);
    },
  });
}

/**
 * Certificates by kind (the host's, and custom domains' together: their names are chosen by pod owners
 * and never labels): how many, the earliest expiry, and renewals failed in a row.
 */
function registerCertificateGauges(registry: Registry, sources: MetricsSources): void {
  const byKind = (kind: 'host' | 'custom') => sources.certificates().filter((entry) => entry.kind === kind);
  new Gauge({
    name: 'codiusd_tls_certificates',
    help: 'Certificates the public port serves, by kind (host, custom).',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      for (const kind of ['host', 'custom'] as const) this.set({ kind }, byKind(kind).length);
    },
  });
  new Gauge({
    name: 'codiusd_tls_certificate_expiry_timestamp_seconds',
    help: 'When the first certificate of the kind to expire expires (Unix time).',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const kind of ['host', 'custom'] as const) {
        const times = byKind(kind).map((entry) => Date.parse(entry.notAfter) / 1000);
        if (times.length > 0) this.set({ kind }, Math.min(...times));
      }
    },
  });
  new Gauge({
    name: 'codiusd_tls_certificate_renewal_failures',
    help: 'Certificate renewals failed in a row, summed by kind (0 when all renewals succeed).',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      for (const kind of ['host', 'custom'] as const) {
        this.set(
          { kind },
          byKind(kind).reduce((sum, entry) => sum + entry.failures, 0),
        );
      }
    },
  });
}

/** A Prometheus registry of codiusd's metrics (its own, never prom-client's global one). */
export function createHostMetrics(
  sources: MetricsSources,
  options: { processMetrics?: boolean } = {},
): HostMetrics {
  const registry = new Registry();
  // Process metrics keep an event-loop monitor and a GC observer running: only for a host that serves them.
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'codiusd_' });
  const assetCodes = new Set<string>();
  const assetLabel = (code: string): string => {
    if (assetCodes.has(code) || assetCodes.size < MAX_ASSET_CODES) {
      assetCodes.add(code);
      return code;
    }
    return 'other';
  };

  registerScrapedGauges(registry, sources, assetLabel);
  const podRequests = new Counter({
    name: 'codiusd_pod_requests_total',
    help: 'Uploads (POST /pods) and extensions (PUT /pods) answered, by kind and status class.',
    labelNames: ['kind', 'status_class'],
    registers: [registry],
  });
  const payments = new Counter({
    name: 'codiusd_payments_total',
    help: 'Payments that ended, by method, asset code and outcome (complete, or short and kept as credit).',
    labelNames: ['method', 'asset_code', 'outcome'],
    registers: [registry],
  });
  const paid = new Counter({
    name: 'codiusd_payment_received_base_units_total',
    help: 'Amounts received by payments since start, by method, in base units of the asset.',
    labelNames: ['method', 'asset_code'],
    registers: [registry],
  });
  const podStart = new Histogram({
    name: 'codiusd_pod_start_duration_seconds',
    help: 'Time the runtime took to run a pod (pull, create, start).',
    buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  const runtimeErrors = new Counter({
    name: 'codiusd_runtime_errors_total',
    help: 'Runtime calls that failed, by operation.',
    labelNames: ['operation'],
    registers: [registry],
  });
  const proxied = new Counter({
    name: 'codiusd_proxy_requests_total',
    help: 'Requests proxied to pods (or answered for them), by status class.',
    labelNames: ['status_class'],
    registers: [registry],
  });
  const proxyLatency = new Histogram({
    name: 'codiusd_proxy_request_duration_seconds',
    help: 'Time from a proxied request to the end of its response.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const renewals = new Counter({
    name: 'codiusd_renewals_total',
    help: "Renewals of pods from their tenants' wallets, by outcome (renewed, stopped, retry).",
    labelNames: ['outcome'],
    registers: [registry],
  });
  const totals = { uploads: 0, extensions: 0, proxied: {} as Record<string, number> };
  for (const status of STATUS_CLASSES) totals.proxied[status] = 0;

  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    activityTotals: () => ({ ...totals, proxied: { ...totals.proxied } }),
    podRequestAnswered(kind, status) {
      podRequests.inc({ kind, status_class: statusClass(status) });
      if (kind === 'upload') totals.uploads += 1;
      else totals.extensions += 1;
    },
    paymentEnded(method, assetCode, outcome, amount) {
      const asset_code = assetLabel(assetCode);
      payments.inc({ method, asset_code, outcome });
      if (amount > 0n) paid.inc({ method, asset_code }, Number(amount));
    },
    podStarted: (seconds) => podStart.observe(seconds),
    renewal: (outcome) => renewals.inc({ outcome }),
    runtimeCallFailed: (operation) => runtimeErrors.inc({ operation }),
    proxyAnswered(status, seconds) {
      const status_class = statusClass(status);
      proxied.inc({ status_class });
      proxyLatency.observe(seconds);
      totals.proxied[status_class] = (totals.proxied[status_class] ?? 0) + 1;
    },
  };
}
