import type Joi from 'joi';
import { VARIABLES, type VariableSpec } from './variables.js';

/** A configuration error: one line naming the variable and what it expects. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

function describeValue(spec: VariableSpec, raw: string): string {
  if (spec.secret) return '(value hidden)';
  const shown = raw.length > 80 ? `${raw.slice(0, 77)}...` : raw;
  return `got ${JSON.stringify(shown)}`;
}

/**
 * Reads one variable: unset and empty mean its declared default (read like any value), or undefined
 * when it declares none; anything else must validate. The caller states the type its variable's schema
 * converts to.
 */
export function read(env: Env, name: string): unknown {
  const spec = VARIABLES.find((v) => v.name === name);
  if (!spec) throw new Error(`unknown configuration variable ${name}`);
  const set = env[name];
  const raw = set === undefined || set.trim() === '' ? spec.default : set;
  if (raw === undefined) return undefined;
  const result: Joi.ValidationResult<unknown> = spec.schema.validate(raw.trim(), { convert: true });
  if (result.error) {
    throw new ConfigError(name, `${name} must be ${spec.expected}; ${describeValue(spec, raw)}`);
  }
  return result.value;
}

/** A variable that declares a default: its value or the default's, never undefined. */
export function readDefaulted(env: Env, name: string): unknown {
  const value = read(env, name);
  if (value === undefined) throw new Error(`configuration variable ${name} declares no default`);
  return value;
}

export const readBoolean = (env: Env, name: string): boolean | undefined =>
  read(env, name) as boolean | undefined;
export const readNumber = (env: Env, name: string): number | undefined =>
  read(env, name) as number | undefined;
export const readString = (env: Env, name: string): string | undefined =>
  read(env, name) as string | undefined;
export const booleanOf = (env: Env, name: string): boolean => readDefaulted(env, name) as boolean;
export const numberOf = (env: Env, name: string): number => readDefaulted(env, name) as number;
export const stringOf = (env: Env, name: string): string => readDefaulted(env, name) as string;
