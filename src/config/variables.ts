import { HOST_VARIABLES } from './host-variables.js';
import { HTTPS_VARIABLES } from './https-variables.js';
import { NETWORK_VARIABLES } from './network-variables.js';
import { OPERATIONS_VARIABLES } from './operations-variables.js';
import { PAYMENT_VARIABLES } from './payment-variables.js';
import { RUNTIME_VARIABLES } from './runtime-variables.js';
import { SANDBOX_VARIABLES } from './sandbox-variables.js';
import type { VariableSpec } from './variable-spec.js';

export type { VariableSpec } from './variable-spec.js';

/** The bootstrap peers Codius hosts have always started from. */
export const DEFAULT_BOOTSTRAP_PEERS: readonly string[] = [
  'https://codius.justmoon.com',
  'https://codius.andros-connector.com',
  'https://codius.risky.business',
  'https://codius.feraltc.com',
  'https://codius.tinypolarbear.com',
  'https://x1.codiushost.com',
];

/** Every variable, in the order `codiusd --help` lists them. */
export const VARIABLES: readonly VariableSpec[] = [
  ...HOST_VARIABLES,
  ...RUNTIME_VARIABLES,
  ...SANDBOX_VARIABLES,
  ...PAYMENT_VARIABLES,
  ...NETWORK_VARIABLES,
  ...HTTPS_VARIABLES,
  ...OPERATIONS_VARIABLES,
];
