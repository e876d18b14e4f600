import type Joi from 'joi';

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
