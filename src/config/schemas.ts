import Joi from 'joi';

/** Joi schemas the variable catalogue shares: each validates and converts one raw environment string. */
export const bool = Joi.boolean().strict(false).truthy('1').falsy('0');
export const port = Joi.number().integer().min(1).max(65535);
export const decimal = Joi.string().pattern(/^\d+(\.\d+)?$/);
export const httpUri = Joi.string().uri({ scheme: ['http', 'https'] });

/** Accepts a JSON document and validates the parsed value with `inner`. */
export function json(inner: Joi.Schema): Joi.Schema {
  return Joi.any().custom((raw: unknown, helpers) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(String(raw));
    } catch {
      return helpers.error('any.invalid');
    }
    const result: Joi.ValidationResult<unknown> = inner.validate(parsed);
    return result.error ? helpers.error('any.invalid') : result.value;
  });
}
