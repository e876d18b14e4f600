import Joi from 'joi';
import { parseAddressList } from '../net/address-list.js';
import { httpUri, json } from './schemas.js';
import type { VariableSpec } from './variable-spec.js';

/** Peers of the Codius network, and the pod proxy in front of pods. */
export const NETWORK_VARIABLES: readonly VariableSpec[] = [
  {
    name: 'CODIUS_BOOTSTRAP_PEERS',
    schema: json(Joi.array().items(httpUri).max(1000)),
    expected: 'a JSON array of http(s) URLs, e.g. ["https://codius.example.org"]',
    defaultText: 'six well-known Codius hosts',
    description: 'Peers to start discovery from.',
  },
  {
    name: 'CODIUS_MAX_PEERS',
    schema: Joi.number().integer().min(1).max(100_000),
    expected: 'an integer from 1 to 100000',
    default: '1000',
    description:
      'Most peers kept (at most 10 per registrable domain); a full table drops only peers that have not answered for an hour.',
  },
  {
    name: 'CODIUS_PEER_DISCOVERY_INTERVAL',
    schema: Joi.number().greater(0).max(86_400),
    expected: 'a number of seconds in (0, 86400]',
    default: '5',
    description: 'Pause between peer discovery passes (each announces this host to a few random peers).',
  },
  {
    name: 'CODIUS_PEER_FANOUT',
    schema: Joi.number().integer().min(1).max(100),
    expected: 'an integer from 1 to 100',
    default: '5',
    description: 'Peers asked per discovery pass.',
  },
  {
    name: 'CODIUS_PEER_TIMEOUT',
    schema: Joi.number().greater(0).max(300),
    expected: 'a number of seconds in (0, 300]',
    default: '5',
    description: 'Longest a request to another host (discover, /info) may take, body included.',
  },
  {
    name: 'CODIUS_PEER_MAX_FAILURES',
    schema: Joi.number().integer().min(1).max(10_000),
    expected: 'an integer from 1 to 10000',
    default: '5',
    description:
      'A peer is dropped after this many failed requests in a row, once CODIUS_PEER_DROP_AFTER has also passed since it last answered.',
  },
  {
    name: 'CODIUS_PEER_DROP_AFTER',
    schema: Joi.number().min(0).max(31_536_000),
    expected: 'a number of seconds from 0 to 31536000',
    default: '3600',
    description:
      'How long a failing peer is kept since it last answered (or was added) before it may be dropped.',
  },
  {
    name: 'CODIUS_TRUSTED_PROXIES',
    schema: Joi.string().custom((raw: string, helpers) =>
      parseAddressList(raw) === null ? helpers.error('any.invalid') : raw,
    ),
    expected: 'none, or a comma-separated list of IP addresses and CIDR subnets (IPv4 or IPv6)',
    default: '127.0.0.1, ::1',
    description:
      'Reverse proxies in front of codiusd. Only requests from these addresses may set X-Forwarded-For/-Proto/-Host for pods; from anyone else those headers are replaced.',
  },
  {
    name: 'CODIUS_PROXY_TIMEOUT',
    schema: Joi.number().greater(0).max(86_400),
    expected: 'a number of seconds in (0, 86400]',
    default: '300',
    description:
      'Pod proxy: a pod must start answering within this (else 504), and a proxied HTTP or WebSocket connection idle this long is closed.',
  },
  {
    name: 'CODIUS_PROXY_MAX_CONNECTIONS',
    schema: Joi.number().integer().min(1).max(65_536),
    expected: 'an integer from 1 to 65536',
    default: '128',
    description:
      'Pod proxy: most HTTP connections open to one pod at a time (as many more requests may wait for one; beyond that 503), and separately most open WebSockets to one pod. One client (address, or IPv6 /64) gets a quarter of each (beyond that 429).',
  },
  {
    name: 'CODIUS_MAX_CONNECTIONS',
    schema: Joi.number().integer().min(1).max(1_000_000),
    expected: 'an integer from 1 to 1000000',
    default: '16384',
    description:
      'Most client connections the public port holds at once (API, proxied requests and WebSockets together); new ones beyond are closed at once.',
  },
  {
    name: 'CODIUS_PROXY_ENGINE',
    schema: Joi.string().valid('builtin', 'haproxy'),
    expected: 'builtin or haproxy',
    defaultText: 'haproxy when CODIUS_DEV is false and HAProxy is installed, else builtin',
    description:
      'What serves the public port. builtin: codiusd itself. haproxy: codiusd runs HAProxy (apt-get install haproxy) on the public port, which sends pod traffic straight to pods and everything else to codiusd.',
  },
  {
    name: 'CODIUS_HAPROXY_PATH',
    schema: Joi.string().min(1),
    expected: 'a path to the haproxy executable',
    default: 'haproxy',
    description: 'The HAProxy that CODIUS_PROXY_ENGINE=haproxy runs (a bare name is looked up in PATH).',
  },
  {
    name: 'CODIUS_TLS_CERT',
    schema: Joi.string().min(1),
    expected: 'a path to a PEM certificate chain',
    defaultText: 'none (plain HTTP; a TLS front such as nginx terminates TLS)',
    description:
      'The public port terminates TLS with this certificate, which should cover the host and *.host (with CODIUS_TLS_KEY).',
  },
  {
    name: 'CODIUS_TLS_KEY',
    schema: Joi.string().min(1),
    expected: 'a path to the PEM private key of CODIUS_TLS_CERT',
    defaultText: 'none',
    description: 'The private key of CODIUS_TLS_CERT.',
  },
];
