import { parseAddressList, type AddressRule } from '../net/address-list.js';
import { parsePortList, type PortRule } from '../net/port-list.js';
import { blockedNetworks, DEFAULT_BLOCKED_PORTS } from '../firewall/policy.js';
import type { OciRuntime, RuntimeSettings } from '../runtime/settings.js';
import type { LogLevel } from '../logger.js';
import { readOpenPayments, type OpenPaymentsSettings } from './open-payments.js';
import { readOperations, type Operations } from './operations.js';
import { ConfigError, read, readBoolean, readNumber, readString, type Env } from './read.js';
import { DEFAULT_BOOTSTRAP_PEERS, VARIABLES } from './variables.js';

export { ConfigError } from './read.js';
export type { OpenPaymentsSettings } from './open-payments.js';

export type { LogLevel } from '../logger.js';

export interface Config {
  dev: boolean;
  /** CODIUS_PUBLIC_URI verbatim: peers compare it byte for byte. */
  publicUri: string;
  port: number;
  bindIp: string;
  root: string;
  /** CODIUS_MEMDOWN_PERSIST=true: the store lives in memory. */
  inMemoryStore: boolean;
  bootstrapPeers: string[];
  maxMemoryFraction: number;
  additionalHostInfo: boolean;
  /** Whole units of the host asset per 2,628,000 s, as an exact decimal string. */
  costPerMonth: string;
  /** The runtime CODIUS_RUNTIME names, with a section of its own for each driver. */
  runtime: RuntimeSettings;
  /** What contains pods. */
  sandbox: {
    /** CODIUS_POD_FIREWALL: codiusd's nftables table for the pod network. */
    firewall: boolean;
    /** Destinations blocked besides the built-in non-public ranges. */
    blockedNetworks: AddressRule[];
    blockedPorts: PortRule[];
    maxContainers: number;
    /** Registry hosts (lower case, `host` or `host:port`) allowed despite non-public addresses. */
    allowedRegistries: string[];
    imageRetentionMs: number;
  };
  selfTest: Operations['selfTest'];
  quoteMode: 'free' | 'stream';
  payments: { timeoutMs: number; maxDurationSeconds: number };
  peers: {
    maxPeers: number;
    discoveryIntervalMs: number;
    fanout: number;
    timeoutMs: number;
    maxFailures: number;
    dropAfterMs: number;
  };
  proxy: {
    /** Addresses whose X-Forwarded-* headers are believed. */
    trustedProxies: AddressRule[];
    timeoutMs: number;
    maxConnectionsPerPod: number;
    /** CODIUS_MAX_CONNECTIONS: client connections of the public port at once. */
    maxConnections: number;
    /** What serves the public port: codiusd itself, or HAProxy run by codiusd. */
    engine: 'builtin' | 'haproxy';
    haproxyPath: string;
    /** The public port terminates TLS with these files. */
    tls: { certFile: string; keyFile: string } | null;
  };
  admin: Operations['admin'];
  logLevel: LogLevel;
  shutdownTimeoutMs: number;
  ilp: { plugin: string; credentials: Record<string, unknown> | null; btpServer: string | null };
  /** Pods' own ILP accounts through the connector inside codiusd. */
  podIlp: { enabled: boolean; port: number; spread: number };
  /** The host's Open Payments wallet, when it takes Open Payments. */
  openPayments: OpenPaymentsSettings | null;
}

function readRuntime(env: Env, sandbox: Config['sandbox']): RuntimeSettings {
  return {
    kind: (read(env, 'CODIUS_RUNTIME') as RuntimeSettings['kind'] | undefined) ?? 'podman',
    imagePullTimeoutMs: (readNumber(env, 'CODIUS_IMAGE_PULL_TIMEOUT') ?? 300) * 1000,
    reconcileIntervalMs: (readNumber(env, 'CODIUS_RECONCILE_INTERVAL') ?? 60) * 1000,
    podman: {
      socket: readString(env, 'CODIUS_PODMAN_SOCKET') ?? null,
      network: readString(env, 'CODIUS_PODMAN_NETWORK') ?? 'codius',
      subnet: readString(env, 'CODIUS_PODMAN_SUBNET') ?? '10.89.240.0/20',
      ociRuntime: (read(env, 'CODIUS_OCI_RUNTIME') as OciRuntime | undefined) ?? 'runc',
    },
    hyperd: {
      socket: readString(env, 'CODIUS_HYPER_SOCKET') ?? '/var/run/hyper.sock',
      noop: readBoolean(env, 'CODIUS_HYPER_NOOP') ?? false,
    },
    kubernetes: {
      namespace: readString(env, 'CODIUS_K8S_NAMESPACE') ?? 'codius',
      runtimeClass: readString(env, 'CODIUS_K8S_RUNTIME_CLASS') ?? null,
      blockedNetworks: blockedNetworks(sandbox.blockedNetworks),
      blockedPorts: sandbox.blockedPorts,
    },
  };
}

function readSandbox(env: Env): Config['sandbox'] {
  return {
    firewall: readBoolean(env, 'CODIUS_POD_FIREWALL') ?? true,
    blockedNetworks: parseAddressList(readString(env, 'CODIUS_POD_BLOCKED_NETWORKS') ?? 'none') ?? [],
    blockedPorts: parsePortList(readString(env, 'CODIUS_POD_BLOCKED_PORTS') ?? DEFAULT_BLOCKED_PORTS) ?? [],
    maxContainers: readNumber(env, 'CODIUS_MAX_CONTAINERS') ?? 10,
    allowedRegistries: (readString(env, 'CODIUS_ALLOWED_REGISTRIES') ?? '')
      .split(',')
      .map((entry) => entry.trim().toLowerCase())
      .filter(Boolean),
    imageRetentionMs: (readNumber(env, 'CODIUS_IMAGE_RETENTION') ?? 86_400) * 1000,
  };
}

function readProxy(env: Env): Config['proxy'] {
  const certFile = readString(env, 'CODIUS_TLS_CERT');
  const keyFile = readString(env, 'CODIUS_TLS_KEY');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const missing = certFile === undefined ? 'CODIUS_TLS_CERT' : 'CODIUS_TLS_KEY';
    throw new ConfigError(missing, 'CODIUS_TLS_CERT and CODIUS_TLS_KEY are set together or not at all');
  }
  return {
    trustedProxies: parseAddressList(readString(env, 'CODIUS_TRUSTED_PROXIES') ?? '127.0.0.1, ::1') ?? [],
    timeoutMs: Math.round((readNumber(env, 'CODIUS_PROXY_TIMEOUT') ?? 300) * 1000),
    maxConnectionsPerPod: readNumber(env, 'CODIUS_PROXY_MAX_CONNECTIONS') ?? 128,
    maxConnections: readNumber(env, 'CODIUS_MAX_CONNECTIONS') ?? 16_384,
    engine: (read(env, 'CODIUS_PROXY_ENGINE') as 'builtin' | 'haproxy' | undefined) ?? 'builtin',
    haproxyPath: readString(env, 'CODIUS_HAPROXY_PATH') ?? 'haproxy',
    tls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : null,
  };
}

/** Loads and validates the whole configuration. Throws ConfigError on the first bad variable. */
export function loadConfig(env: Env): Config {
  const dev = readBoolean(env, 'CODIUS_DEV') ?? false;
  const port = readNumber(env, 'CODIUS_PORT') ?? 3000;

  const publicUri =
    readString(env, 'CODIUS_PUBLIC_URI') ?? (dev ? `http://local.codius.org:${port}` : undefined);
  if (publicUri === undefined) {
    throw new ConfigError(
      'CODIUS_PUBLIC_URI',
      'CODIUS_PUBLIC_URI must be set to the https URL clients reach this host at (or set CODIUS_DEV=true)',
    );
  }

  const costPerMonth =
    readString(env, 'CODIUS_COST_PER_MONTH') ??
    readString(env, 'COST_PER_MONTH') ??
    readString(env, 'CODIUS_XRP_PER_MONTH') ??
    '10';

  const { admin, selfTest } = readOperations(env, { port, dev });
  const sandbox = readSandbox(env);

  return {
    dev,
    publicUri,
    port,
    bindIp: readString(env, 'CODIUS_BIND_IP') ?? '127.0.0.1',
    root: readString(env, 'CODIUS_ROOT') ?? '/var/lib/codius',
    inMemoryStore: readBoolean(env, 'CODIUS_MEMDOWN_PERSIST') ?? false,
    bootstrapPeers: (read(env, 'CODIUS_BOOTSTRAP_PEERS') as string[] | undefined) ?? [
      ...DEFAULT_BOOTSTRAP_PEERS,
    ],
    maxMemoryFraction: readNumber(env, 'CODIUS_MAX_MEMORY_FRACTION') ?? 0.75,
    additionalHostInfo: readBoolean(env, 'CODIUS_ADDITIONAL_HOST_INFO') ?? true,
    costPerMonth,
    runtime: readRuntime(env, sandbox),
    sandbox,
    selfTest,
    quoteMode: (read(env, 'CODIUS_QUOTE_MODE') as 'free' | 'stream' | undefined) ?? 'free',
    payments: {
      timeoutMs: Math.round((readNumber(env, 'CODIUS_PAYMENT_TIMEOUT') ?? 60) * 1000),
      maxDurationSeconds: readNumber(env, 'CODIUS_MAX_DURATION') ?? 31_536_000,
    },
    peers: {
      maxPeers: readNumber(env, 'CODIUS_MAX_PEERS') ?? 1000,
      discoveryIntervalMs: Math.round((readNumber(env, 'CODIUS_PEER_DISCOVERY_INTERVAL') ?? 5) * 1000),
      fanout: readNumber(env, 'CODIUS_PEER_FANOUT') ?? 5,
      timeoutMs: Math.round((readNumber(env, 'CODIUS_PEER_TIMEOUT') ?? 5) * 1000),
      maxFailures: readNumber(env, 'CODIUS_PEER_MAX_FAILURES') ?? 5,
      dropAfterMs: Math.round((readNumber(env, 'CODIUS_PEER_DROP_AFTER') ?? 3600) * 1000),
    },
    proxy: readProxy(env),
    admin,
    logLevel: (read(env, 'CODIUS_LOG_LEVEL') as LogLevel | undefined) ?? 'info',
    shutdownTimeoutMs: Math.round((readNumber(env, 'CODIUS_SHUTDOWN_TIMEOUT') ?? 10) * 1000),
    podIlp: {
      enabled: readBoolean(env, 'CODIUS_POD_ILP') ?? true,
      port: readNumber(env, 'CODIUS_POD_ILP_PORT') ?? 7768,
      spread: readNumber(env, 'CODIUS_POD_ILP_SPREAD') ?? 0,
    },
    ilp: {
      plugin: readString(env, 'ILP_PLUGIN') ?? 'ilp-plugin-btp',
      credentials: (read(env, 'ILP_CREDENTIALS') as Record<string, unknown> | undefined) ?? null,
      btpServer: readString(env, 'ILP_BTP_SERVER') ?? null,
    },
    openPayments: readOpenPayments(env, dev),
  };
}

/** `codiusd --help` text for the variables. */
export function describeVariables(): string {
  return VARIABLES.map(
    (v) => `  ${v.name}\n      ${v.description}\n      Expected: ${v.expected}. Default: ${v.defaultText}.`,
  ).join('\n');
}
