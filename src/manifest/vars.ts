import type { EnvVar, PodRequest } from '../domain/types.js';
import { CodiusError } from '../domain/errors.js';
import { hashPrivateVar } from './hash.js';

export const RESERVED_PREFIX = 'CODIUS';

/**
 * Whether every private value must be in the request. An upload needs them all; a quote does not:
 * `codius extend-hash` quotes the public manifest it fetched back with GET /pods, which has no private
 * part, and the price does not depend on the values. Values that are given are checked either way.
 */
export type PrivateValues = 'required' | 'optional';

/**
 * Resolves one environment value. `$NAME` takes the whole rest as a variable name, public or verified
 * private; `$$…` is the literal `$…` (so that a value may start with `$`); anything else is literal.
 */
function resolveValue(
  request: PodRequest,
  raw: string,
  privateValues: PrivateValues,
): { value: string; secret: boolean } | null {
  if (!raw.startsWith('$')) return { value: raw, secret: false };
  if (raw.startsWith('$$')) return { value: raw.slice(1), secret: false };

  const name = raw.slice(1);
  const vars = request.manifest.vars;
  const declared = vars !== undefined && Object.hasOwn(vars, name) ? vars[name] : undefined;
  // Only for error messages, whose wire text prints absent vars as "undefined".
  const varsJson = (): string => (vars === undefined ? 'undefined' : JSON.stringify(vars));
  if (declared === undefined) {
    throw new CodiusError('var_not_declared', { variable: raw, varsJson: varsJson() });
  }
  // Widened on purpose: the schema admits only private:sha256, but callers may skip the schema.
  const encoding: string | undefined = declared.encoding;
  if (encoding === undefined) return { value: declared.value, secret: false };
  if (encoding !== 'private:sha256') {
    throw new CodiusError('var_encoding_unknown', { declaredJson: JSON.stringify(declared) });
  }

  // No `private` object is the same as a missing entry: 422, never a crash (codiusd#75).
  const privateVars = request.private?.vars;
  const entry = privateVars !== undefined && Object.hasOwn(privateVars, name) ? privateVars[name] : undefined;
  if (entry === undefined) {
    if (privateValues === 'optional') return null;
    throw new CodiusError('private_var_missing', { variable: raw, varsJson: varsJson() });
  }
  const hashed = hashPrivateVar(entry);
  if (hashed !== declared.value) {
    throw new CodiusError('private_var_mismatch', {
      variable: raw,
      publicHash: declared.value,
      hashedValue: hashed,
    });
  }
  return { value: entry.value, secret: true };
}

/**
 * The user's environment of one container, resolved, in manifest key order. With optional private
 * values, a variable whose value the request lacks is left out.
 */
export function resolveContainerEnv(
  request: PodRequest,
  environment: Record<string, string> = {},
  privateValues: PrivateValues = 'required',
): EnvVar[] {
  return Object.entries(environment).flatMap(([name, raw]) => {
    if (name.startsWith(RESERVED_PREFIX)) {
      throw new CodiusError('env_reserved', { name });
    }
    const resolved = resolveValue(request, raw, privateValues);
    return resolved === null ? [] : [{ name, ...resolved }];
  });
}
