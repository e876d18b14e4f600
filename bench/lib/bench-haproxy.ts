import { join } from 'node:path';
import type { TlsMaterial } from '../../src/acme/tls-source.js';
import type { PodRecord } from '../../src/domain/types.js';
import { createLogger } from '../../src/logger.js';
import { startHaproxyEngine, type HaproxyEngine } from '../../src/proxy/haproxy/engine.js';
import { BENCH_PUBLIC_HOST } from './bench-host.js';

/**
 * CODIUS_PROXY_ENGINE=haproxy's HAProxy, as codiusd starts it, routing the one pod `record` on
 * 127.0.0.1:`port`, terminating TLS with `tls` or serving plain HTTP. The pod's traffic never reaches
 * codiusd, so nothing listens behind it.
 */
export function startBenchHaproxy(options: {
  dir: string;
  port: number;
  record: PodRecord;
  tls: TlsMaterial | null;
}): Promise<HaproxyEngine> {
  const { record } = options;
  return startHaproxyEngine({
    settings: {
      bindIp: '127.0.0.1',
      port: options.port,
      codiusd: { host: '127.0.0.1', port: 9 },
      trustedProxies: [],
      publicProto: 'https',
      timeoutMs: 300_000,
      maxConnectionsPerPod: 128,
      maxConnections: 16_384,
      shutdownTimeoutMs: 2_000,
    },
    publicHostname: BENCH_PUBLIC_HOST,
    directory: join(options.dir, options.tls ? 'haproxy-tls' : 'haproxy'),
    tls: options.tls,
    command: 'haproxy',
    pods: {
      get: (hash) => (hash === record.hash ? record : undefined),
      watch: (listener) => listener(record.hash),
    },
    logger: createLogger('warn'),
  });
}
