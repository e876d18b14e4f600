import type Joi from 'joi';
import { HOST_VARIABLES } from './host-variables.js';
import { NETWORK_VARIABLES } from './network-variables.js';
import { OPERATIONS_VARIABLES } from './operations-variables.js';
import { PAYMENT_VARIABLES } from './payment-variables.js';
import { RUNTIME_VARIABLES } from './runtime-variables.js';
import { SANDBOX_VARIABLES } from './sandbox-variables.js';

/**
 * One environment variable codiusd reads. The catalogue of them all (VARIABLES, declared by area in the
 * `*-variables.ts` files beside this one) drives validation, `codiusd --help` and a test that keeps
 * `.env.example` complete, so a variable is declared once.
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

/** Every variable, in the order `codiusd --help` lists them. */
export const VARIABLES: readonly VariableSpec[] = [
  ...HOST_VARIABLES,
  ...RUNTIME_VARIABLES,
  ...SANDBOX_VARIABLES,
  ...PAYMENT_VARIABLES,
  ...NETWORK_VARIABLES,
  ...OPERATIONS_VARIABLES,
];
