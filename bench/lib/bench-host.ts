import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadConfig, type Config } from '../../src/config/config.js';
import { firewallTableName } from '../../src/firewall/ruleset.js';

/** The public host name of benches' in-process codiusd: pods answer at `<hash>.bench.example`. */
export const BENCH_PUBLIC_HOST = 'bench.example';
/** The subnet of benches' Podman networks (one bench at a time). */
export const BENCH_SUBNET = '10.89.197.0/24';

/**
 * The configuration of a bench's in-process codiusd on the bench's own Podman service and network: no
 * self test, no peers (benches send traffic to loopback only), an ephemeral port. `extra` adds variables.
 */
export function benchHostConfig(options: {
  root: string;
  podmanSocket: string;
  network: string;
  extra?: Record<string, string>;
}): Config {
  return {
    ...loadConfig({
      CODIUS_PUBLIC_URI: `https://${BENCH_PUBLIC_HOST}`,
      CODIUS_ROOT: options.root,
      CODIUS_PODMAN_SOCKET: options.podmanSocket,
      CODIUS_PODMAN_NETWORK: options.network,
      CODIUS_PODMAN_SUBNET: BENCH_SUBNET,
      CODIUS_SELF_TEST: 'false',
      CODIUS_BOOTSTRAP_PEERS: '[]',
      // Bench images live in local storage only.
      CODIUS_ALLOWED_REGISTRIES: 'localhost',
      ...options.extra,
    }),
    port: 0,
  };
}

/** Removes the pod firewall a bench's codiusd applied to its network (it outlives codiusd on purpose). */
export async function removeBenchFirewall(network: string): Promise<void> {
  await promisify(execFile)('nft', ['delete', 'table', 'inet', firewallTableName(network)]).catch(
    () => undefined,
  );
}
