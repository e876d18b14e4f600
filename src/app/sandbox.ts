import { createNft } from '../firewall/nft.js';
import { createPodFirewall, type PodFirewall } from '../firewall/pod-firewall.js';
import { blockedNetworks } from '../firewall/policy.js';
import { blockedPodResolvers } from '../firewall/resolvers.js';
import { firewallTableName } from '../firewall/ruleset.js';
import type { PortRule } from '../net/port-list.js';
import { podmanNetwork } from '../runtime/registry.js';
import { createRegistryPolicy, type RegistryPolicy } from '../runtime/registry-policy.js';
import type { PhaseContext } from './phases.js';

/** Where this host's pods may pull images from: anywhere public, plus the operator's allowed registries. */
export function registryPolicyFor(
  { config }: PhaseContext,
  isLocalImage: (image: string) => boolean,
): RegistryPolicy {
  return createRegistryPolicy({
    allowPrivate: config.dev,
    allowed: config.sandbox.allowedRegistries,
    isLocalImage,
  });
}

/**
 * codiusd's firewall for the Podman pod network, applied before the first pod runs and left in place when
 * codiusd stops. A production host refuses to start without it (unless CODIUS_POD_FIREWALL=false); a dev
 * host warns and goes on. Returns the check each reconcile pass runs (re-applying a removed table).
 */
export async function podFirewall(
  context: PhaseContext,
  hostPorts: readonly PortRule[] = [],
): Promise<(() => Promise<unknown>) | undefined> {
  const { lifecycle, config, logger } = context;
  if (config.runtime.kind !== 'podman') return undefined;
  if (!config.sandbox.firewall) {
    logger.warn(
      'CODIUS_POD_FIREWALL=false: pods can reach each other, this host, its network and private ranges unless YOUR firewall stops them',
    );
    return undefined;
  }
  const network = podmanNetwork(config.runtime.podman);
  const blocked = blockedNetworks(config.sandbox.blockedNetworks);
  const firewall: PodFirewall = createPodFirewall({
    table: firewallTableName(network.name),
    policy: {
      bridge: network.bridge,
      blockedNetworks: blocked,
      blockedPorts: config.sandbox.blockedPorts,
      hostPorts: [...hostPorts],
      resolvers: await blockedPodResolvers(blocked),
    },
    nft: createNft(),
    logger: logger.child({ component: 'firewall' }),
  });
  const applied = await lifecycle.start('pod firewall', async () => {
    try {
      await firewall.apply();
      return true;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (!config.dev) {
        throw new Error(
          `codiusd will not run pods without their firewall: ${reason}. Set CODIUS_POD_FIREWALL=false only if a firewall of your own contains the pods.`,
          { cause: error },
        );
      }
      logger.warn({ err: error }, 'dev mode: running pods WITHOUT the pod firewall');
      return false;
    }
  });
  return applied ? () => firewall.ensure() : undefined;
}
