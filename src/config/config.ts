import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { parseAddressList, type AddressRule } from '../net/address-list.js';
import { parsePortList, type PortRule } from '../net/port-list.js';
import { blockedNetworks } from '../firewall/policy.js';
import type { OciRuntime, RuntimeSettings } from '../runtime/settings.js';
import type { LogLevel } from '../logger.js';
import { readHttps, type HttpsSettings } from './https.js';
import { readOpenPayments, type OpenPaymentsSettings } from './open-payments.js';
import { readOperations, type Operations } from './operations.js';
import { DEFAULT_COST_PER_MONTH } from './payment-variables.js';
import {
  booleanOf,
  ConfigError,
  numberOf,
  read,
  readDefaulted,
  readString,
  stringOf,
  type Env,
} from './read.js';
import { defaultTextOf } from './variable-spec.js';
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
    /** Why that engine: the variable, or what the default found. */
    engineReason: string;
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
  https: HttpsSettings;
}

function readRuntime(env: Env, sandbox: Config['sandbox']): RuntimeSettings {
  return {
    kind: readDefaulted(env, 'CODIUS_RUNTIME') as RuntimeSettings['kind'],
    imagePullTimeoutMs: numberOf(env, 'CODIUS_IMAGE_PULL_TIMEOUT') * 1000,
    reconcileIntervalMs: numberOf(env, 'CODIUS_RECONCILE_INTERVAL') * 1000,
    podman: {
      socket: readString(env, 'CODIUS_PODMAN_SOCKET') ?? null,
      network: stringOf(env, 'CODIUS_PODMAN_NETWORK'),
      subnet: stringOf(env, 'CODIUS_PODMAN_SUBNET'),
      ociRuntime: readDefaulted(env, 'CODIUS_OCI_RUNTIME') as OciRuntime,
    },
    hyperd: {
      socket: stringOf(env, 'CODIUS_HYPER_SOCKET'),
      noop: booleanOf(env, 'CODIUS_HYPER_NOOP'),
    },
    kubernetes: {
      namespace: stringOf(env, 'CODIUS_K8S_NAMESPACE'),
      runtimeClass: readString(env, 'CODIUS_K8S_RUNTIME_CLASS') ?? null,
      blockedNetworks: blockedNetworks(sandbox.blockedNetworks),
      blockedPorts: sandbox.blockedPorts,
    },
  };
}

function readSandbox(env: Env): Config['sandbox'] {
  return {
    firewall: booleanOf(env, 'CODIUS_POD_FIREWALL'),
    blockedNetworks: parseAddressList(stringOf(env, 'CODIUS_POD_BLOCKED_NETWORKS')) ?? [],
    blockedPorts: parsePortList(stringOf(env, 'CODIUS_POD_BLOCKED_PORTS')) ?? [],
    maxContainers: numberOf(env, 'CODIUS_MAX_CONTAINERS'),
    allowedRegistries: (readString(env, 'CODIUS_ALLOWED_REGISTRIES') ?? '')
      .split(',')
      .map((entry) => entry.trim().toLowerCase())
      .filter(Boolean),
    imageRetentionMs: numberOf(env, 'CODIUS_IMAGE_RETENTION') * 1000,
  };
}

/** Whether an executable exists: a path, or a bare name looked up in PATH. */
export function executableExists(command: string, path: string | undefined): boolean {
  const candidates = command.includes('/')
    ? [command]
    : (path ?? '')
        .split(':')
        .filter(Boolean)
        .map((dir) => join(dir, command));
  return candidates.some((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * CODIUS_PROXY_ENGINE, or by default: HAProxy on a production host that has it (the faster engine),
 * the built-in engine otherwise (it needs nothing, as the development quick start wants).
 */
function chooseEngine(
  env: Env,
  haproxyPath: string,
  probes: ConfigProbes,
): Pick<Config['proxy'], 'engine' | 'engineReason'> {
  const chosen = readString(env, 'CODIUS_PROXY_ENGINE') as 'builtin' | 'haproxy' | undefined;
  if (chosen) return { engine: chosen, engineReason: `CODIUS_PROXY_ENGINE=${chosen}` };
  if (booleanOf(env, 'CODIUS_DEV')) {
    return {
      engine: 'builtin',
      engineReason: 'default for CODIUS_DEV=true: the built-in engine needs nothing',
    };
  }
  if (probes.executableExists(haproxyPath, env.PATH)) {
    return {
      engine: 'haproxy',
      engineReason: `default for production: HAProxy is installed (${haproxyPath})`,
    };
  }
  return {
    engine: 'builtin',
    engineReason: `default for production without HAProxy (${haproxyPath} not found; apt-get install haproxy for the faster engine)`,
  };
}

function readProxy(env: Env, probes: ConfigProbes): Config['proxy'] {
  const certFile = readString(env, 'CODIUS_TLS_CERT');
  const keyFile = readString(env, 'CODIUS_TLS_KEY');
  if ((certFile === undefined) !== (keyFile === undefined)) {
    const missing = certFile === undefined ? 'CODIUS_TLS_CERT' : 'CODIUS_TLS_KEY';
    throw new ConfigError(missing, 'CODIUS_TLS_CERT and CODIUS_TLS_KEY are set together or not at all');
  }
  return {
    trustedProxies: parseAddressList(stringOf(env, 'CODIUS_TRUSTED_PROXIES')) ?? [],
    timeoutMs: Math.round(numberOf(env, 'CODIUS_PROXY_TIMEOUT') * 1000),
    maxConnectionsPerPod: numberOf(env, 'CODIUS_PROXY_MAX_CONNECTIONS'),
    maxConnections: numberOf(env, 'CODIUS_MAX_CONNECTIONS'),
    ...chooseEngine(env, stringOf(env, 'CODIUS_HAPROXY_PATH'), probes),
    haproxyPath: stringOf(env, 'CODIUS_HAPROXY_PATH'),
    tls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : null,
  };
}

/** What loading the configuration looks at on the machine. */
export interface ConfigProbes {
  executableExists(command: string, path: string | undefined): boolean;
}

/** Loads and validates the whole configuration. Throws ConfigError on the first bad variable. */
export function loadConfig(env: Env, probes: ConfigProbes = { executableExists }): Config {
  const dev = booleanOf(env, 'CODIUS_DEV');
  const port = numberOf(env, 'CODIUS_PORT');

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
    DEFAULT_COST_PER_MONTH;

  const { admin, selfTest } = readOperations(env, { port, dev });
  const sandbox = readSandbox(env);
  const proxy = readProxy(env, probes);

  return {
    dev,
    publicUri,
    port,
    bindIp: stringOf(env, 'CODIUS_BIND_IP'),
    root: stringOf(env, 'CODIUS_ROOT'),
    inMemoryStore: booleanOf(env, 'CODIUS_MEMDOWN_PERSIST'),
    bootstrapPeers: (read(env, 'CODIUS_BOOTSTRAP_PEERS') as string[] | undefined) ?? [
      ...DEFAULT_BOOTSTRAP_PEERS,
    ],
    maxMemoryFraction: numberOf(env, 'CODIUS_MAX_MEMORY_FRACTION'),
    additionalHostInfo: booleanOf(env, 'CODIUS_ADDITIONAL_HOST_INFO'),
    costPerMonth,
    runtime: readRuntime(env, sandbox),
    sandbox,
    selfTest,
    quoteMode: readDefaulted(env, 'CODIUS_QUOTE_MODE') as 'free' | 'stream',
    payments: {
      timeoutMs: Math.round(numberOf(env, 'CODIUS_PAYMENT_TIMEOUT') * 1000),
      maxDurationSeconds: numberOf(env, 'CODIUS_MAX_DURATION'),
    },
    peers: {
      maxPeers: numberOf(env, 'CODIUS_MAX_PEERS'),
      discoveryIntervalMs: Math.round(numberOf(env, 'CODIUS_PEER_DISCOVERY_INTERVAL') * 1000),
      fanout: numberOf(env, 'CODIUS_PEER_FANOUT'),
      timeoutMs: Math.round(numberOf(env, 'CODIUS_PEER_TIMEOUT') * 1000),
      maxFailures: numberOf(env, 'CODIUS_PEER_MAX_FAILURES'),
      dropAfterMs: Math.round(numberOf(env, 'CODIUS_PEER_DROP_AFTER') * 1000),
    },
    proxy,
    https: readHttps(env, publicUri, proxy.tls !== null),
    admin,
    logLevel: readDefaulted(env, 'CODIUS_LOG_LEVEL') as LogLevel,
    shutdownTimeoutMs: Math.round(numberOf(env, 'CODIUS_SHUTDOWN_TIMEOUT') * 1000),
    podIlp: {
      enabled: booleanOf(env, 'CODIUS_POD_ILP'),
      port: numberOf(env, 'CODIUS_POD_ILP_PORT'),
      spread: numberOf(env, 'CODIUS_POD_ILP_SPREAD'),
    },
    ilp: {
      plugin: stringOf(env, 'ILP_PLUGIN'),
      credentials: (read(env, 'ILP_CREDENTIALS') as Record<string, unknown> | undefined) ?? null,
      btpServer: readString(env, 'ILP_BTP_SERVER') ?? null,
    },
    openPayments: readOpenPayments(env, dev),
  };
}

/** `codiusd --help` text for the variables. */
export function describeVariables(): string {
  return VARIABLES.map(
    (v) =>
      `  ${v.name}\n      ${v.description}\n      Expected: ${v.expected}. Default: ${defaultTextOf(v)}.`,
  ).join('\n');
}
