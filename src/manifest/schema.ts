import Joi from 'joi';
import type { PodRequest } from '../domain/types.js';
import { CodiusError } from '../domain/errors.js';

// JSON Schema's `string` admits the empty string; joi's does not unless told.
const str = (): Joi.StringSchema => Joi.string().allow('');

const container = Joi.object({
  id: str().required(),
  image: str().required(),
  command: Joi.array().items(str()),
  workdir: str(),
  environment: Joi.object().pattern(/^/, str()),
});

const manifest = Joi.object({
  name: str().required(),
  version: str().required(),
  // Unanchored: every manifest Codius hosts have accepted keeps its hash valid here ("80x" passes). Not str():
  // the pattern needs a digit 1-9 somewhere, so the empty string is not a port.
  port: Joi.string().pattern(/[1-9][0-9]*/),
  machine: Joi.string().valid('small'),
  containers: Joi.array().items(container).min(1).required(),
  vars: Joi.object().pattern(
    /^/,
    Joi.object({ value: str().required(), encoding: Joi.string().valid('private:sha256') }),
  ),
  debug: Joi.boolean(),
});

const podRequest = Joi.object({
  manifest: manifest.required(),
  private: Joi.object({
    vars: Joi.object().pattern(/^/, Joi.object({ nonce: str().required(), value: str().required() })),
  }),
});

/**
 * Validates a POST/OPTIONS /pods body without converting anything: coercing e.g. `"debug": "true"` to a
 * boolean before hashing would make the host's hash differ from the client's, so such input is rejected.
 * Unknown keys are rejected at every level.
 */
export function parsePodRequest(body: unknown): PodRequest {
  const result = podRequest.validate(body, { convert: false, abortEarly: true, allowUnknown: false });
  if (result.error) {
    const detail = result.error.details[0];
    throw new CodiusError('invalid_payload', {
      validation: {
        source: 'payload',
        keys: (detail?.path ?? []).map(String),
        reason: detail?.message ?? result.error.message,
      },
    });
  }
  return result.value as PodRequest;
}
