import Joi from 'joi';
import { bool, httpUri, port } from './schemas.js';
import type { VariableSpec } from './variable-spec.js';

/** The host itself: where it is reached, where it keeps its data, how it runs and reports. */
export const HOST_VARIABLES: readonly VariableSpec[] = [
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
    default: '3000',
    description: 'Port of the public HTTP server (API and pod proxy).',
  },
  {
    name: 'CODIUS_BIND_IP',
    schema: Joi.string().ip({ cidr: 'forbidden' }),
    expected: 'an IPv4 or IPv6 address',
    default: '127.0.0.1',
    description: 'Address the public HTTP server listens on. Put a TLS reverse proxy in front.',
  },
  {
    name: 'CODIUS_ROOT',
    schema: Joi.string().min(1),
    expected: 'a directory path',
    default: '/var/lib/codius',
    description: 'Data directory (mode 0700): host secret, sqlite store, runtime sockets.',
  },
  {
    name: 'CODIUS_MEMDOWN_PERSIST',
    schema: bool,
    expected: 'true or false',
    default: 'false',
    description:
      'A misleading name kept for compatibility with existing configurations: when true the store lives in memory only and nothing survives a restart (tests, demos).',
  },
  {
    name: 'CODIUS_DEV',
    schema: bool,
    expected: 'true or false',
    default: 'false',
    description:
      'Development mode: CODIUS_PUBLIC_URI optional, http and loopback peers allowed, embedded moneyd local (play money).',
  },
  {
    name: 'CODIUS_MAX_MEMORY_FRACTION',
    schema: Joi.number().greater(0).max(1),
    expected: 'a number in (0, 1]',
    default: '0.75',
    description: 'Share of total memory that pods may reserve; uploads beyond it get 503.',
  },
  {
    name: 'CODIUS_ADDITIONAL_HOST_INFO',
    schema: bool,
    expected: 'true or false',
    default: 'true',
    description: 'Adds runningContracts (and peers on ?requestPeers=true) to GET /info.',
  },
  {
    name: 'CODIUS_LOG_LEVEL',
    schema: Joi.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'),
    expected: 'one of fatal, error, warn, info, debug, trace, silent',
    default: 'info',
    description:
      'Log level (JSON lines on stdout). Answered requests are logged at info, except successful reads ' +
      '(GET and HEAD below 400), which pollers make all day: those at debug.',
  },
  {
    name: 'CODIUS_SHUTDOWN_TIMEOUT',
    schema: Joi.number().greater(0).max(600),
    expected: 'a number of seconds in (0, 600]',
    default: '10',
    description:
      'On SIGTERM/SIGINT, how long in-flight requests may take to finish before their connections are closed.',
  },
];
