import type { Logger } from '../../logger.js';
import type { PodNetwork } from '../pod-network.js';
import { parseJson } from '../unix-http.js';
import { expectStatus, type LibpodCall } from './libpod.js';

interface NetworkInspect {
  subnets?: Array<{ subnet: string }> | null;
}

/**
 * Makes sure the pod network exists: created with its bridge name and subnet when missing; an existing
 * one is used as it is (with a warning when its subnet is not the configured one).
 */
export async function ensurePodNetwork(call: LibpodCall, network: PodNetwork, logger: Logger): Promise<void> {
  const existing = await call('GET', `/networks/${encodeURIComponent(network.name)}/json`);
  if (existing.status === 200) {
    const info = parseJson(existing, 'network inspect') as NetworkInspect;
    const subnets = (info.subnets ?? []).map((s) => s.subnet);
    if (!subnets.includes(network.subnet)) {
      logger.warn(
        { network: network.name, subnets, configured: network.subnet },
        `podman network ${network.name} exists with another subnet; using it as it is`,
      );
    }
    return;
  }
  expectStatus(existing, 'network inspect', 404);
  const created = await call('POST', '/networks/create', {
    name: network.name,
    driver: 'bridge',
    network_interface: network.bridge,
    subnets: [{ subnet: network.subnet, gateway: network.gateway }],
    dns_enabled: false,
    labels: { 'codius.network': 'true' },
  });
  // 409: another process created it between our two calls, which is what we wanted.
  expectStatus(created, 'network create', 200, 409);
  if (created.status === 200) {
    logger.info({ network: network.name, subnet: network.subnet }, 'created podman network');
  }
}
