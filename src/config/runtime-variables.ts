import Joi from 'joi';
import { parseIpv4Cidr } from '../net/ipv4.js';
import { bool } from './schemas.js';
import type { VariableSpec } from './variable-spec.js';

/** The container runtime pods run on, with a section per driver. */
export const RUNTIME_VARIABLES: readonly VariableSpec[] = [
  {
    name: 'CODIUS_RUNTIME',
    schema: Joi.string().valid('podman', 'hyperd', 'kubernetes'),
    expected: 'podman, hyperd or kubernetes',
    default: 'podman',
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
    default: 'codius',
    description:
      'Podman bridge network every pod joins (created if missing); its Linux bridge is named <network>0.',
  },
  {
    name: 'CODIUS_PODMAN_SUBNET',
    schema: Joi.string().custom((raw: string, helpers) =>
      parseIpv4Cidr(raw) ? raw : helpers.error('any.invalid'),
    ),
    expected: 'an IPv4 CIDR of /8 to /28, e.g. 10.89.240.0/20',
    default: '10.89.240.0/20',
    description:
      'Subnet of CODIUS_PODMAN_NETWORK when codiusd creates it (an existing network keeps its own).',
  },
  {
    name: 'CODIUS_IMAGE_PULL_TIMEOUT',
    schema: Joi.number().greater(0).max(3600),
    expected: 'a number of seconds in (0, 3600]',
    default: '300',
    description: 'How long pulling one missing image may take before the pod start fails.',
  },
  {
    name: 'CODIUS_RECONCILE_INTERVAL',
    schema: Joi.number().min(5).max(86400),
    expected: 'a number of seconds in [5, 86400]',
    default: '60',
    description:
      'How often the runtime is compared with the store: paid pods that died are recreated, unpaid ones removed.',
  },
  {
    name: 'CODIUS_HYPER_SOCKET',
    schema: Joi.string().min(1),
    expected: 'a unix socket path',
    default: '/var/run/hyper.sock',
    description: 'hyperd API socket (CODIUS_RUNTIME=hyperd).',
  },
  {
    name: 'CODIUS_HYPER_NOOP',
    schema: bool,
    expected: 'true or false',
    default: 'false',
    description: 'hyperd driver does nothing (no-op mode). Pods never run, so nothing can be served.',
  },
  {
    name: 'CODIUS_K8S_NAMESPACE',
    schema: Joi.string().pattern(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/),
    expected: 'a Kubernetes namespace name (lower-case letters, digits and -, at most 63)',
    default: 'codius',
    description:
      'CODIUS_RUNTIME=kubernetes: the namespace pods run in (the cluster comes from KUBECONFIG or the in-cluster service account).',
  },
  {
    name: 'CODIUS_K8S_RUNTIME_CLASS',
    schema: Joi.string().pattern(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/),
    expected: 'a RuntimeClass name, e.g. gvisor',
    defaultText: 'none (the cluster default)',
    description: 'CODIUS_RUNTIME=kubernetes: the RuntimeClass pods run under, e.g. gvisor.',
  },
];
