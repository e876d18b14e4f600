import Joi from 'joi';
import { bool, port } from './schemas.js';
import type { VariableSpec } from './variable-spec.js';

/** What the operator uses to watch the host: the admin listener and the self test. */
export const OPERATIONS_VARIABLES: readonly VariableSpec[] = [
  {
    name: 'CODIUS_ADMIN_API',
    schema: bool,
    expected: 'true or false',
    default: 'false',
    description:
      'Serve the admin listener (the routes codiusd-gui calls, /api/*, /metrics and the dashboard) on CODIUS_ADMIN_BIND_IP:CODIUS_ADMIN_PORT. Never on the public port.',
  },
  {
    name: 'CODIUS_ADMIN_PORT',
    schema: port,
    expected: 'a TCP port number from 1 to 65535, different from CODIUS_PORT',
    default: '3001',
    description: 'Port of the admin listener.',
  },
  {
    name: 'CODIUS_ADMIN_BIND_IP',
    schema: Joi.string().ip({ cidr: 'forbidden' }),
    expected: 'an IPv4 or IPv6 address',
    default: '127.0.0.1',
    description:
      'Address the admin listener binds. Keep it on loopback or a private address: it is guarded by a token, but it shows earnings and sets the price.',
  },
  {
    name: 'CODIUS_ADMIN_TOKEN',
    schema: Joi.string()
      .min(16)
      .max(512)
      .pattern(/^[\x21-\x7e]+$/),
    expected: 'at least 16 printable characters without spaces',
    defaultText: 'unset: a token generated on first start, kept in CODIUS_ROOT/admin-token (mode 600)',
    description:
      'Bearer token of the admin listener (Authorization: Bearer <token>, or the password of HTTP basic authentication); the dashboard asks for it once per browser session.',
    secret: true,
  },
  {
    name: 'CODIUS_ADMIN_HOSTS',
    schema: Joi.string().pattern(/^\s*[a-zA-Z0-9.-]+(\s*,\s*[a-zA-Z0-9.-]+)*\s*$/),
    expected: 'a comma-separated list of host names, e.g. admin.example.com',
    defaultText: "none: only the listener's addresses and localhost",
    description:
      'Host names the admin listener answers to besides its own addresses and localhost (a request with any other Host header is refused, against DNS rebinding).',
  },
  {
    name: 'CODIUS_SELF_TEST',
    schema: bool,
    expected: 'true or false',
    defaultText: 'true, false in dev mode',
    description:
      'Run the self test: pay this host over its own ILP provider to upload a built-in pod, then reach the pod through the public URI over HTTP and WebSocket. Until it passes, a production host answers paid routes with 503.',
  },
  {
    name: 'CODIUS_SELF_TEST_RETRIES',
    schema: Joi.number().integer().min(0).max(1000),
    expected: 'an integer from 0 to 1000',
    default: '5',
    description: 'Attempts per self-test step.',
  },
  {
    name: 'CODIUS_SELF_TEST_INTERVAL',
    schema: Joi.number().greater(0).max(3600),
    expected: 'a number of seconds in (0, 3600]',
    default: '5',
    description: 'Seconds between self-test attempts.',
  },
  {
    name: 'CODIUS_SELF_TEST_REPEAT',
    schema: Joi.number().integer().min(0).max(31_536_000),
    expected: 'a number of seconds from 0 to 31536000',
    default: '3600',
    description: 'The self test runs again this often after it finished; 0 runs it once after start.',
  },
  {
    name: 'CODIUS_SELF_TEST_ADDRESS',
    schema: Joi.string().pattern(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/),
    expected: 'host:port, e.g. 127.0.0.1:443 or [::1]:443',
    defaultText: 'unset (resolve the public host name)',
    description:
      'The self test connects here instead of resolving the public name; the Host header and the TLS server name stay the public ones. For hosts without wildcard DNS yet.',
  },
];
