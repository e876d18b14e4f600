import type { Logger } from '../../logger.js';
import { RuntimeApiError } from '../errors.js';
import type { PodNetwork } from '../pod-network.js';
import { parseJson } from '../unix-http.js';
import { expectStatus, type LibpodCall } from './libpod.js';

interface NetworkInspect {
  network_interface?: string;
  subnets?: Array<{ subnet?: string; gateway?: string }> | null;
}

/**
 * The network as Podman's inspect answer (`GET /networks/{name}/json`) has it: the bridge and the IPv4
 * subnet its pods really use; null when it has no bridge or no IPv4 subnet with a gateway.
 */
export function podNetworkOf(name: string, inspect: unknown): PodNetwork | null {
  const info = (inspect ?? {}) as NetworkInspect;
  const ipv4 = (info.subnets ?? []).find((s) => s.subnet?.includes('.') && s.gateway);
  if (!info.network_interface || !ipv4?.subnet || !ipv4.gateway) return null;
  return { name, bridge: info.network_interface, subnet: ipv4.subnet, gateway: ipv4.gateway };
}

function asPodNetwork(name: string, inspect: unknown): PodNetwork {
  const network = podNetworkOf(name, inspect);
  if (!network)
    throw new RuntimeApiError(0, `podman network ${name} has no bridge or no IPv4 subnet with a gateway`);
  return network;
}

/**
 * Makes sure the pod network exists (created with the configured bridge name and subnet when missing) and
 * returns it as Podman has it. A network made by other hands keeps its own bridge name and subnet: what
 * guards the pods reads them from here rather than assuming them.
 */
export async function ensurePodNetwork(
  call: LibpodCall,
  network: PodNetwork,
  logger: Logger,
): Promise<PodNetwork> {
  const path = `/networks/${encodeURIComponent(network.name)}/json`;
  const existing = await call('GET', path);
  if (existing.status === 200) return asPodNetwork(network.name, parseJson(existing, 'network inspect'));
  expectStatus(existing, 'network inspect', 404);
  const created = await call('POST', '/networks/create', {
    name: network.name,
    driver: 'bridge',
    network_interface: network.bridge,
    subnets: [{ subnet: network.subnet, gateway: network.gateway }],
    dns_enabled: false,
    labels: { 'codius.network': 'true' },
  });
  // 409: another process created it between our two calls; it is read back below either way.
  expectStatus(created, 'network create', 200, 409);
  if (created.status === 200) {
    logger.info({ network: network.name, subnet: network.subnet }, 'created podman network');
  }
  const made = await call('GET', path);
  expectStatus(made, 'network inspect', 200);
  return asPodNetwork(network.name, parseJson(made, 'network inspect'));
}
