import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { BRIDGE_NF_CALL } from '../firewall/pod-firewall.js';
import { firewallTableName } from '../firewall/ruleset.js';
import type { PodNetwork } from '../runtime/pod-network.js';
import { LIBPOD_API } from '../runtime/podman/libpod.js';
import { podNetworkOf } from '../runtime/podman/network.js';
import { PODMAN_SOCKET_FILE } from '../runtime/podman/service.js';
import { fail, pass, warn, type Check, type CheckResult } from './check.js';
import type { DoctorProbes } from './probes.js';

async function podmanVersion(config: Config, probes: DoctorProbes): Promise<CheckResult> {
  const socket = config.runtime.podman.socket ?? join(config.root, PODMAN_SOCKET_FILE);
  const answer = await probes.unixGet(socket, `${LIBPOD_API}/version`);
  let version: string | undefined;
  if (answer?.status === 200) version = (JSON.parse(answer.body) as { Version?: string }).Version;
  else if (config.runtime.podman.socket) {
    return fail(
      `nothing answers on CODIUS_PODMAN_SOCKET=${socket}`,
      'start it: systemctl start podman.socket (or unset the variable to let codiusd run its own)',
    );
  } else {
    const cli = await probes.command('podman', ['version', '--format', '{{.Client.Version}}']);
    if (!cli) return fail('podman is not installed', 'run scripts/setup-podman.sh (apt-get install podman)');
    if (cli.code !== 0)
      return fail(
        `podman version failed: ${cli.stderr.trim().slice(0, 120)}`,
        'check that podman works as root: podman info',
      );
    version = cli.stdout.trim();
  }
  const major = Number(version?.split('.')[0]);
  if (!(major >= 4))
    return fail(
      `podman ${version ?? 'of unknown version'}`,
      'codiusd needs Podman 4.0 or newer (Debian 12 ships 4.3.1)',
    );
  return pass(`podman ${version ?? ''} (libpod API)`);
}

/** The cluster answers and codiusd's account may list pods in its namespace (the client loads only here). */
async function kubernetesAccess(config: Config): Promise<CheckResult> {
  const { namespace } = config.runtime.kubernetes;
  try {
    const { loadKubeConfig } = await import('../runtime/kubernetes/kubeconfig.js');
    const { createKubeApi } = await import('../runtime/kubernetes/api.js');
    const kc = await loadKubeConfig();
    await (await createKubeApi(kc, namespace)).list('pods', 'app.kubernetes.io/managed-by=codiusd');
    return pass(`Kubernetes at ${kc.getCurrentCluster()?.server ?? 'the cluster'}, namespace ${namespace}`);
  } catch (error) {
    return fail(
      error instanceof Error ? error.message : String(error),
      'apply contrib/kubernetes (namespace and RBAC), and set KUBECONFIG or run codiusd in the cluster',
    );
  }
}

interface NftListing {
  nftables?: Array<Record<string, { hook?: string; expr?: unknown[] }>>;
}

/** The bridges the table's rules match incoming pod traffic on (`iifname "<bridge>"`). */
function filteredBridges(items: NftListing['nftables']): Set<string> {
  const bridges = new Set<string>();
  for (const item of items ?? []) {
    for (const expr of item.rule?.expr ?? []) {
      const match = (expr as { match?: { left?: { meta?: { key?: string } }; right?: unknown } }).match;
      if (match?.left?.meta?.key === 'iifname' && typeof match.right === 'string') bridges.add(match.right);
    }
  }
  return bridges;
}

/** The pod network as Podman has it, when its API answers and the network exists. */
async function podmanNetworkOf(config: Config, probes: DoctorProbes): Promise<PodNetwork | null> {
  const socket = config.runtime.podman.socket ?? join(config.root, PODMAN_SOCKET_FILE);
  const name = config.runtime.podman.network;
  const answer = await probes.unixGet(socket, `${LIBPOD_API}/networks/${encodeURIComponent(name)}/json`);
  return answer?.status === 200 ? podNetworkOf(name, JSON.parse(answer.body)) : null;
}

/** codiusd's table filters the bridge the pods really use, on the configured subnet, with bridged traffic seen. */
async function podFirewall(config: Config, probes: DoctorProbes): Promise<CheckResult> {
  if (!config.sandbox.firewall)
    return warn(
      'CODIUS_POD_FIREWALL=false: codiusd does not contain pods',
      'only with a firewall of your own that does the same',
    );
  const table = firewallTableName(config.runtime.podman.network);
  const listed = await probes.command('nft', ['-j', 'list', 'table', 'inet', table]);
  if (!listed) return fail('nft is not installed', 'apt-get install nftables');
  if (listed.code !== 0)
    return fail(
      `table inet ${table} is absent`,
      'codiusd applies it at start: start codiusd (as root) and check its log',
    );
  const items = (JSON.parse(listed.stdout) as NftListing).nftables ?? [];
  const hooks = new Set(items.flatMap((item) => (item.chain?.hook ? [item.chain.hook] : [])));
  const drops = items.filter((item) => JSON.stringify(item.rule?.expr ?? []).includes('"drop"')).length;
  if (!hooks.has('forward') || drops === 0) {
    return fail(
      `table inet ${table} does not filter forwarded pod traffic`,
      `nft delete table inet ${table} and restart codiusd to apply it again`,
    );
  }
  const bridging = (await probes.readStart(BRIDGE_NF_CALL, 8))?.toString('utf8').trim();
  if (bridging !== '1') {
    return fail(
      `bridged pod traffic bypasses nftables (${BRIDGE_NF_CALL} is ${bridging ?? 'missing'})`,
      'modprobe br_netfilter && sysctl -w net.bridge.bridge-nf-call-iptables=1 (scripts/setup-podman.sh makes it last)',
    );
  }
  const network = config.runtime.kind === 'podman' ? await podmanNetworkOf(config, probes) : null;
  if (network && network.subnet !== config.runtime.podman.subnet) {
    return fail(
      `podman network ${config.runtime.podman.network} uses subnet ${network.subnet}, not CODIUS_PODMAN_SUBNET=${config.runtime.podman.subnet}`,
      `set CODIUS_PODMAN_SUBNET=${network.subnet}, or remove the network so codiusd makes it`,
    );
  }
  const bridges = filteredBridges(items);
  if (network && !bridges.has(network.bridge)) {
    return fail(
      `pods use bridge ${network.bridge}, but table inet ${table} filters ${[...bridges].join(', ') || 'no bridge'}`,
      'restart codiusd: it renders the rules for the bridge the network really has',
    );
  }
  const on = network ? ` on bridge ${network.bridge}` : '';
  return pass(`table inet ${table}${on}: forward and input hooked, ${drops} drop rules`);
}

/** The host's Open Payments wallet: readable, in a priced asset, and granting the host's key. */
async function openPaymentsWallet(config: Config, probes: DoctorProbes): Promise<CheckResult> {
  const settings = config.openPayments;
  if (!settings)
    return { status: 'skip', detail: 'no Open Payments wallet (CODIUS_OPEN_PAYMENTS_WALLET unset)' };
  let wallet: Awaited<ReturnType<DoctorProbes['openPayments']>>;
  try {
    wallet = await probes.openPayments(settings);
  } catch (error) {
    return fail(
      `${settings.walletAddress}: ${(error as Error).message}`,
      'check the wallet address URL, that its provider answers, and chmod 600 on the private key',
    );
  }
  const asset = `${wallet.assetCode}, scale ${wallet.assetScale}`;
  if (wallet.granted !== null) {
    return fail(
      `${settings.walletAddress} (${asset}): its provider refused the host's key: ${wallet.granted}`,
      `register the public key of ${settings.privateKeyPath} (codiusd keygen prints it) with the wallet's provider under CODIUS_OPEN_PAYMENTS_KEY_ID`,
    );
  }
  const price = settings.costPerMonth ?? config.costPerMonth;
  return pass(
    `${settings.walletAddress}: ${asset}, the key is granted incoming payments, ${price} ${wallet.assetCode} per month`,
  );
}

/** The services codiusd drives: the container runtime, its firewall, the ILP provider. */
export const SERVICE_CHECKS: readonly Check[] = [
  {
    id: 'runtime',
    title: 'Container runtime',
    async run(config, probes) {
      if (config.runtime.kind === 'podman') return podmanVersion(config, probes);
      if (config.runtime.kind === 'kubernetes') return kubernetesAccess(config);
      if (config.runtime.hyperd.noop)
        return warn('CODIUS_HYPER_NOOP=true: pods are not run', 'unset it on a real host');
      const answer = await probes.unixGet(config.runtime.hyperd.socket, '/version');
      return answer?.status === 200
        ? pass(`hyperd at ${config.runtime.hyperd.socket}`)
        : fail(
            `nothing answers at ${config.runtime.hyperd.socket}`,
            'start hyperd, or use CODIUS_RUNTIME=podman',
          );
    },
  },
  {
    id: 'oci-runtime',
    title: 'OCI runtime',
    async run(config, probes) {
      const wanted = config.runtime.podman.ociRuntime;
      if (config.runtime.kind !== 'podman')
        return { status: 'skip', detail: `not used by ${config.runtime.kind}` };
      const found = await probes.command(wanted, ['--version']);
      if (!found || found.code !== 0)
        return fail(
          `${wanted} is not installed`,
          wanted === 'runsc' ? 'install gVisor (runsc), see the README' : `apt-get install ${wanted}`,
        );
      const version = (found.stdout.split('\n')[0] ?? '').trim();
      if (wanted !== 'runsc' && !config.dev) {
        return warn(
          `${version}: pods share the host's kernel`,
          'for a public host, CODIUS_OCI_RUNTIME=runsc runs pods under gVisor',
        );
      }
      return pass(version);
    },
  },
  {
    id: 'firewall',
    title: 'Pod firewall',
    run: podFirewall,
  },
  {
    id: 'open-payments',
    title: 'Open Payments',
    run: openPaymentsWallet,
  },
  {
    id: 'ilp',
    title: 'ILP provider',
    async run(config, probes) {
      try {
        const info = await probes.ildcp(config.ilp, 5_000);
        if (!config.dev && info.clientAddress.startsWith('private.moneyd')) {
          const playMoney = `${info.assetCode}, scale ${info.assetScale}, at ${info.clientAddress}: play money (moneyd local)`;
          if (config.openPayments) return pass(`${playMoney}; real money comes through Open Payments`);
          return warn(
            playMoney,
            "moneyd's uplinks reach no live Interledger network today: take real money with Open Payments (CODIUS_OPEN_PAYMENTS_WALLET)",
          );
        }
        return pass(`${info.assetCode}, scale ${info.assetScale}, at ${info.clientAddress}`);
      } catch (error) {
        const detail = `the ILP provider did not answer: ${(error as Error).message}`;
        // With Open Payments, moneyd is optional: STREAM is then simply not offered.
        if (config.openPayments)
          return warn(detail, 'STREAM is not offered; start moneyd local (or unset it) if you want it');
        return fail(
          detail,
          "start moneyd, or take Open Payments (CODIUS_OPEN_PAYMENTS_WALLET): moneyd's uplinks reach no live network today",
        );
      }
    },
  },
];
