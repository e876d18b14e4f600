import Joi from 'joi';
import { DEFAULT_BLOCKED_PORTS } from '../firewall/policy.js';
import { parseAddressList } from '../net/address-list.js';
import { parsePortList } from '../net/port-list.js';
import { bool } from './schemas.js';
import type { VariableSpec } from './variable-spec.js';

/** What contains pods: their firewall, hardening limits, the OCI runtime, and where images may come from. */
export const SANDBOX_VARIABLES: readonly VariableSpec[] = [
  {
    name: 'CODIUS_POD_FIREWALL',
    schema: bool,
    expected: 'true or false',
    default: 'true',
    description:
      'codiusd applies its own nftables table to the pod network: no pod↔pod traffic, no host, private or special ranges, no mail or SIP ports. false only with a firewall of your own (codiusd warns loudly).',
  },
  {
    name: 'CODIUS_POD_BLOCKED_NETWORKS',
    schema: Joi.string().custom((raw: string, helpers) =>
      parseAddressList(raw) === null ? helpers.error('any.invalid') : raw,
    ),
    expected: 'none, or a comma-separated list of IPv4/IPv6 addresses and CIDR subnets',
    default: 'none',
    description:
      "More destinations pods may not reach, e.g. the operator's own public ranges. The private, loopback, link-local and special ranges are always blocked.",
  },
  {
    name: 'CODIUS_POD_BLOCKED_PORTS',
    schema: Joi.string().custom((raw: string, helpers) =>
      parsePortList(raw) === null ? helpers.error('any.invalid') : raw,
    ),
    expected: 'none, or a comma-separated list of port/protocol, e.g. 25/tcp, 5060/udp',
    default: DEFAULT_BLOCKED_PORTS,
    description: 'Ports pods may not connect to anywhere (refused at once).',
  },
  {
    name: 'CODIUS_MAX_CONTAINERS',
    schema: Joi.number().integer().min(1).max(100),
    expected: 'an integer from 1 to 100',
    default: '10',
    description: 'Most containers one manifest may have; more is a 400 before payment.',
  },
  {
    name: 'CODIUS_OCI_RUNTIME',
    schema: Joi.string().valid('runc', 'crun', 'runsc'),
    expected: 'runc, crun or runsc',
    default: 'runc',
    description:
      'OCI runtime of every container of every pod (Podman). runsc runs pods under gVisor: a kernel of its own between the pod and the host.',
  },
  {
    name: 'CODIUS_ALLOWED_REGISTRIES',
    schema: Joi.string().pattern(/^\s*[A-Za-z0-9.-]+(:\d{1,5})?(\s*,\s*[A-Za-z0-9.-]+(:\d{1,5})?)*\s*$/),
    expected:
      'a comma-separated list of registry hosts, with a port where it has one, e.g. registry.lan:5000',
    defaultText: 'none',
    description:
      'Registries images may be pulled from although they are (or resolve to) loopback, private or link-local addresses; production refuses those otherwise.',
  },
  {
    name: 'CODIUS_IMAGE_RETENTION',
    schema: Joi.number().integer().min(0).max(31_536_000),
    expected: 'a number of seconds from 0 to 31536000',
    default: '86400',
    description: 'Images codiusd pulled are removed once no pod has used them for this long (86400: a day).',
  },
];
