import Joi from 'joi';
import { parseAddressList } from '../net/address-list.js';
import { parseIpv4Cidr } from '../net/ipv4.js';

/**
 * The catalogue of every environment variable codiusd reads. It drives validation, `codiusd --help`
 * and a test that keeps `.env.example` complete, so a variable is declared once, here.
 */
export interface VariableSpec {
  name: string;
  /** Validates and converts the raw string. Unset and empty values never reach it. */
  schema: Joi.Schema;
  /** What a valid value looks like, for error messages. */
  expected: string;
  /** Default as a person would write it, for --help. */
  defaultText: string;
  description: string;
  /** Never echo the value back (credentials). */
  secret?: boolean;
}

/** The original's bootstrap list (spec §5.1). */
export const DEFAULT_BOOTSTRAP_PEERS: readonly string[] = [
  'https://codius.justmoon.com',
  'https://codius.andros-connector.com',
  'https://codius.risky.business',
  'https://codius.feraltc.com',
  'https://codius.tinypolarbear.com',
  'https://x1.codiushost.com',
];

const bool = Joi.boolean().strict(false).truthy('1').falsy('0');
const port = Joi.number().integer().min(1).max(65535);
const decimal = Joi.string().pattern(/^\d+(\.\d+)?$/);
const httpUri = Joi.string().uri({ scheme: ['http', 'https'] });

/** Accepts a JSON document and validates the parsed value with `inner`. */
function json(inner: Joi.Schema): Joi.Schema {
  return Joi.any().custom((raw: unknown, helpers) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(raw));
    } catch {
      return helpers.error('any.invalid');
    }
    const result: Joi.ValidationResult<unknown> = inner.validate(parsed);
    return result.error ? helpers.error('any.invalid') : result.value;
  });
}

export const VARIABLES: readonly VariableSpec[] = [
  {
    name: 'CODIUS_PUBLIC_URI',
    schema: httpUri,
    expected: 'an http(s) URL, e.g. https://codius.example.com',
    defaultText: 'required; in dev mode http://local.codius.org:<CODIUS_PORT>',
    description:
      'URL clients and peers reach this host at (no trailing slash). Pod URLs are <hash>.<its host>.',
  },
  {
    name: 'CODIUS_PORT',
    schema: port,
    expected: 'a TCP port number from 1 to 65535',
    defaultText: '3000',
    description: 'Port of the public HTTP server (API and pod proxy).',
  },
  {
    name: 'CODIUS_BIND_IP',
    schema: Joi.string().ip({ cidr: 'forbidden' }),
    expected: 'an IPv4 or IPv6 address',
    defaultText: '127.0.0.1',
    description: 'Address the public HTTP server listens on. Put a TLS reverse proxy in front.',
  },
  {
    name: 'CODIUS_ROOT',
    schema: Joi.string().min(1),
    expected: 'a directory path',
    defaultText: '/var/lib/codius',
    description: 'Data directory (mode 0700): host secret, sqlite store, runtime sockets.',
  },
  {
    name: 'CODIUS_MEMDOWN_PERSIST',
    schema: bool,
    expected: 'true or false',
    defaultText: 'false',
    description:
      'Misnamed in the original, kept for compatibility: when true the store lives in memory only and nothing survives a restart (tests, demos).',
  },
  {
    name: 'CODIUS_DEV',
    schema: bool,
    expected: 'true or false',
    defaultText: 'false',
    description:
      'Development mode: CODIUS_PUBLIC_URI optional, http and loopback peers allowed, embedded moneyd local (play money).',
  },
  {
    name: 'CODIUS_COST_PER_MONTH',
    schema: decimal,
    expected: 'a non-negative decimal number, e.g. 10 or 0.5',
    defaultText: '10',
    description:
      'Price of one pod for 2,628,000 s, in whole units of the host asset. Aliases, in order: COST_PER_MONTH, CODIUS_XRP_PER_MONTH.',
  },
  {
    name: 'COST_PER_MONTH',
    schema: decimal,
    expected: 'a non-negative decimal number',
    defaultText: 'unset',
    description: 'Alias of CODIUS_COST_PER_MONTH (used when that is unset).',
  },
  {
    name: 'CODIUS_XRP_PER_MONTH',
    schema: decimal,
    expected: 'a non-negative decimal number',
    defaultText: 'unset',
    description: 'Legacy alias of CODIUS_COST_PER_MONTH (used when both others are unset).',
  },
  {
    name: 'CODIUS_BOOTSTRAP_PEERS',
    schema: json(Joi.array().items(httpUri).max(1000)),
    expected: 'a JSON array of http(s) URLs, e.g. ["https://codius.example.org"]',
    defaultText: 'the original codiusd list of six hosts',
    description: 'Peers to start discovery from.',
  },
  {
    name: 'CODIUS_PEER_DISCOVERY_INTERVAL',
    schema: Joi.number().greater(0).max(86_400),
    expected: 'a number of seconds in (0, 86400]',
    defaultText: '5',
    description: 'Pause between peer discovery passes (each announces this host to a few random peers).',
  },
  {
    name: 'CODIUS_PEER_FANOUT',
    schema: Joi.number().integer().min(1).max(100),
    expected: 'an integer from 1 to 100',
    defaultText: '5',
    description: 'Peers asked per discovery pass.',
  },
  {
    name: 'CODIUS_PEER_TIMEOUT',
    schema: Joi.number().greater(0).max(300),
    expected: 'a number of seconds in (0, 300]',
    defaultText: '5',
    description: 'Longest a request to another host (discover, /info) may take, body included.',
  },
  {
    name: 'CODIUS_PEER_MAX_FAILURES',
    schema: Joi.number().integer().min(1).max(10_000),
    expected: 'an integer from 1 to 10000',
    defaultText: '5',
    description:
      'A peer is dropped after this many failed requests in a row, once CODIUS_PEER_DROP_AFTER has also passed since it last answered.',
  },
  {
    name: 'CODIUS_PEER_DROP_AFTER',
    schema: Joi.number().min(0).max(31_536_000),
    expected: 'a number of seconds from 0 to 31536000',
    defaultText: '3600',
    description:
      'How long a failing peer is kept since it last answered (or was added) before it may be dropped.',
  },
  {
    name: 'CODIUS_MAX_MEMORY_FRACTION',
    schema: Joi.number().greater(0).max(1),
    expected: 'a number in (0, 1]',
    defaultText: '0.75',
    description: 'Share of total memory that pods may reserve; uploads beyond it get 503.',
  },
  {
    name: 'CODIUS_ADDITIONAL_HOST_INFO',
    schema: bool,
    expected: 'true or false',
    defaultText: 'true',
    description: 'Adds runningContracts (and peers on ?requestPeers=true) to GET /info.',
  },
  {
    name: 'CODIUS_RUNTIME',
    schema: Joi.string().valid('podman', 'hyperd'),
    expected: 'podman or hyperd',
    defaultText: 'podman',
    description: 'Container runtime that runs pods.',
  },
  {
    name: 'CODIUS_PODMAN_SOCKET',
    schema: Joi.string().min(1),
    expected: 'a unix socket path',
    defaultText: 'unset: codiusd starts `podman system service` on a socket under CODIUS_ROOT',
    description: 'libpod API socket of an already running Podman service.',
  },
  {
    name: 'CODIUS_PODMAN_NETWORK',
    schema: Joi.string().pattern(/^[a-z][a-z0-9-]{0,13}$/),
    expected: 'a network name of 1-14 lower-case letters, digits or dashes, starting with a letter',
    defaultText: 'codius',
    description:
      'Podman bridge network every pod joins (created if missing); its Linux bridge is named <network>0.',
  },
  {
    name: 'CODIUS_PODMAN_SUBNET',
    schema: Joi.string().custom((raw: string, helpers) =>
      parseIpv4Cidr(raw) ? raw : helpers.error('any.invalid'),
    ),
    expected: 'an IPv4 CIDR of /8 to /28, e.g. 10.89.240.0/20',
    defaultText: '10.89.240.0/20',
    description:
      'Subnet of CODIUS_PODMAN_NETWORK when codiusd creates it (an existing network keeps its own).',
  },
  {
    name: 'CODIUS_IMAGE_PULL_TIMEOUT',
    schema: Joi.number().greater(0).max(3600),
    expected: 'a number of seconds in (0, 3600]',
    defaultText: '300',
    description: 'How long pulling one missing image may take before the pod start fails.',
  },
  {
    name: 'CODIUS_RECONCILE_INTERVAL',
    schema: Joi.number().min(5).max(86400),
    expected: 'a number of seconds in [5, 86400]',
    defaultText: '60',
    description:
      'How often the runtime is compared with the store: paid pods that died are recreated, unpaid ones removed.',
  },
  {
    name: 'CODIUS_HYPER_SOCKET',
    schema: Joi.string().min(1),
    expected: 'a unix socket path',
    defaultText: '/var/run/hyper.sock',
    description: 'hyperd API socket (CODIUS_RUNTIME=hyperd).',
  },
  {
    name: 'CODIUS_HYPER_NOOP',
    schema: bool,
    expected: 'true or false',
    defaultText: 'false',
    description:
      'hyperd driver does nothing (the original no-op mode). Pods never run, so nothing can be served.',
  },
  {
    name: 'CODIUS_SELF_TEST',
    schema: bool,
    expected: 'true or false',
    defaultText: 'true, false in dev mode',
    description: 'Run the startup self test (upload, HTTP and WebSocket through the public URI).',
  },
  {
    name: 'CODIUS_SELF_TEST_RETRIES',
    schema: Joi.number().integer().min(0).max(1000),
    expected: 'an integer from 0 to 1000',
    defaultText: '5',
    description: 'Attempts per self-test step.',
  },
  {
    name: 'CODIUS_SELF_TEST_INTERVAL',
    schema: Joi.number().greater(0).max(3600),
    expected: 'a number of seconds in (0, 3600]',
    defaultText: '5',
    description: 'Seconds between self-test attempts.',
  },
  {
    name: 'CODIUS_QUOTE_MODE',
    schema: Joi.string().valid('free', 'stream'),
    expected: 'free or stream',
    defaultText: 'free',
    description:
      'OPTIONS /pods: free answers at once (what the published CLI 3.1.0 needs); stream asks for the zero-amount STREAM handshake of the unreleased CLI.',
  },
  {
    name: 'CODIUS_PAYMENT_TIMEOUT',
    schema: Joi.number().greater(0).max(600),
    expected: 'a number of seconds in (0, 600]',
    defaultText: '60',
    description:
      'How long a paid request waits for the full price to arrive over STREAM; what arrived by then is kept as the manifest credit.',
  },
  {
    name: 'CODIUS_MAX_DURATION',
    schema: Joi.number().integer().min(1).max(315_360_000),
    expected: 'an integer number of seconds from 1 to 315360000 (ten years)',
    defaultText: '31536000 (365 days)',
    description: 'Longest duration one upload or extension may buy; longer ones get 400.',
  },
  {
    name: 'CODIUS_TRUSTED_PROXIES',
    schema: Joi.string().custom((raw: string, helpers) =>
      parseAddressList(raw) === null ? helpers.error('any.invalid') : raw,
    ),
    expected: 'none, or a comma-separated list of IP addresses and CIDR subnets (IPv4 or IPv6)',
    defaultText: '127.0.0.1, ::1',
    description:
      'Reverse proxies in front of codiusd. Only requests from these addresses may set X-Forwarded-For/-Proto/-Host for pods; from anyone else those headers are replaced.',
  },
  {
    name: 'CODIUS_PROXY_TIMEOUT',
    schema: Joi.number().greater(0).max(86_400),
    expected: 'a number of seconds in (0, 86400]',
    defaultText: '300',
    description:
      'Pod proxy: a pod must start answering within this (else 504), and a proxied HTTP or WebSocket connection idle this long is closed.',
  },
  {
    name: 'CODIUS_PROXY_MAX_CONNECTIONS',
    schema: Joi.number().integer().min(1).max(65_536),
    expected: 'an integer from 1 to 65536',
    defaultText: '128',
    description:
      'Pod proxy: most HTTP connections open to one pod at a time (as many more requests may wait for one; beyond that 503), and separately most open WebSockets to one pod.',
  },
  {
    name: 'CODIUS_ADMIN_API',
    schema: bool,
    expected: 'true or false',
    defaultText: 'false',
    description: 'Serve the admin API on 127.0.0.1:CODIUS_ADMIN_PORT.',
  },
  {
    name: 'CODIUS_ADMIN_PORT',
    schema: port,
    expected: 'a TCP port number from 1 to 65535, different from CODIUS_PORT',
    defaultText: '3001',
    description: 'Port of the admin API (loopback only).',
  },
  {
    name: 'CODIUS_LOG_LEVEL',
    schema: Joi.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
    expected: 'one of fatal, error, warn, info, debug, trace, silent',
    defaultText: 'info',
    description: 'Log level (JSON lines on stdout).',
  },
  {
    name: 'CODIUS_SHUTDOWN_TIMEOUT',
    schema: Joi.number().greater(0).max(600),
    expected: 'a number of seconds in (0, 600]',
    defaultText: '10',
    description:
      'On SIGTERM/SIGINT, how long in-flight requests may take to finish before their connections are closed.',
  },
  {
    name: 'ILP_PLUGIN',
    schema: Joi.string().min(1),
    expected: 'an npm module name',
    defaultText: 'ilp-plugin-btp',
    description: 'ILP plugin used to reach moneyd.',
  },
  {
    name: 'ILP_BTP_SERVER',
    schema: Joi.string().uri({ scheme: ['btp+ws', 'btp+wss'] }),
    expected: 'a btp+ws:// or btp+wss:// URL, e.g. btp+ws://localhost:7768',
    defaultText: 'btp+ws://localhost:7768',
    description:
      'BTP server of the ILP provider when ILP_CREDENTIALS is unset; a random secret is added, so each connection gets its own moneyd sub-account.',
  },
  {
    name: 'ILP_CREDENTIALS',
    schema: json(Joi.object().unknown(true)),
    expected: 'a JSON object of plugin options',
    defaultText: 'BTP to the local moneyd on localhost:7768 with a random secret',
    description: 'Options of ILP_PLUGIN. Contains secrets: it is never logged.',
    secret: true,
  },
];
