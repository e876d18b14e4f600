import { createBridgeLink } from '../firewall/bridge-link.js';
import { createContainment, type Containment } from '../firewall/containment.js';
import { createNft, NftError } from '../firewall/nft.js';
import { createPodFirewall, type PodFirewall } from '../firewall/pod-firewall.js';
import { blockedNetworks } from '../firewall/policy.js';
import { blockedPodResolvers } from '../firewall/resolvers.js';
import { firewallTableName } from '../firewall/ruleset.js';
import { requireHostDevices } from '../host/device-nodes.js';
import type { PortRule } from '../net/port-list.js';
import type { ReconcileGuard } from '../pods/pod-manager.js';
import type { PodRuntime } from '../runtime/driver.js';
import { podmanNetwork } from '../runtime/settings.js';
import { createRegistryPolicy, type RegistryPolicy } from '../runtime/registry-policy.js';
import type { PhaseContext } from './phase-context.js';

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

async function firewallFor(context: PhaseContext, hostPorts: readonly PortRule[]): Promise<PodFirewall> {
  const { config, logger } = context;
  const blocked = blockedNetworks(config.sandbox.blockedNetworks);
  return createPodFirewall({
    table: firewallTableName(config.runtime.podman.network),
    policy: {
      blockedNetworks: blocked,
      blockedPorts: config.sandbox.blockedPorts,
      hostPorts: [...hostPorts],
      resolvers: await blockedPodResolvers(blocked),
    },
    nft: createNft(),
    logger: logger.child({ component: 'firewall' }),
  });
}

/**
 * What contains the pods of a Podman host: intact device nodes, the configured pod network, and codiusd's
 * firewall on the bridge the pods really use, applied before the first pod runs and left in place when
 * codiusd stops. A production host refuses to start when the firewall cannot be applied (unless
 * CODIUS_POD_FIREWALL=false); a dev host warns and goes on without it. Returns the check every reconcile
 * pass runs first (no pod starts while it fails).
 */
export async function podContainment(
  context: PhaseContext,
  runtime: PodRuntime,
  hostPorts: readonly PortRule[] = [],
): Promise<ReconcileGuard | undefined> {
  const { lifecycle, config, logger } = context;
  // Pods of a Kubernetes cluster run on its nodes, contained by their NetworkPolicy; hyperd's no-op runs none.
  if (
    config.runtime.kind === 'kubernetes' ||
    (config.runtime.kind === 'hyperd' && config.runtime.hyperd.noop)
  )
    return undefined;
  const podNetwork = runtime.podNetwork?.bind(runtime);
  let firewall: PodFirewall | undefined;
  if (!podNetwork) {
    // hyperd runs its own network: only the devices are codiusd's to check.
  } else if (config.sandbox.firewall) {
    firewall = await firewallFor(context, hostPorts);
  } else {
    logger.warn(
      'CODIUS_POD_FIREWALL=false: pods can reach each other, this host, its network and private ranges unless YOUR firewall stops them',
    );
  }
  const make = (withFirewall: PodFirewall | undefined): Containment =>
    createContainment({
      expected: podmanNetwork(config.runtime.podman),
      ...(podNetwork ? { podNetwork } : {}),
      ...(withFirewall ? { firewall: withFirewall } : {}),
      devices: () => requireHostDevices(),
      link: createBridgeLink(),
      logger: logger.child({ component: 'containment' }),
    });
  let containment = make(firewall);
  await lifecycle.start(
    'pod containment',
    async () => {
      try {
        await containment.check();
      } catch (error) {
        if (!(error instanceof NftError)) {
          // The runtime not answering yet, or devices to restore: pods wait, and the reason is logged.
          logger.error({ err: error }, 'pods cannot run yet');
        } else if (!config.dev) {
          throw new Error(
            `codiusd will not run pods without their firewall: ${error.message}. Set CODIUS_POD_FIREWALL=false only if a firewall of your own contains the pods.`,
            { cause: error },
          );
        } else {
          logger.warn({ err: error }, 'dev mode: running pods WITHOUT the pod firewall');
          containment = make(undefined);
        }
      }
      containment.watch();
    },
    () => containment.stop(),
  );
  return { check: () => containment.check(), holds: () => containment.holds() };
}
