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
  /**
   * The value when the variable is unset or empty, written as in the environment and read through
   * `schema` like any other value: the one place a default is declared.
   */
  default?: string;
  /** For a default that is not one value (computed, or "unset means none"): what --help says instead. */
  defaultText?: string;
  description: string;
  /** Never echo the value back (credentials). */
  secret?: boolean;
}

/** The default as --help and error messages show it. */
export function defaultTextOf(spec: VariableSpec): string {
  return spec.default ?? spec.defaultText ?? 'none';
}
