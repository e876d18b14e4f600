import Boom from '@hapi/boom';
import { ManifestError } from '../manifest/errors.js';

/**
 * A manifest error as the original's response: its exact `message` (clients match on it), plus a
 * `validation` object saying which field failed and why.
 */
export function manifestErrorToBoom(error: ManifestError): Boom.Boom {
  const boom = error.statusCode === 400 ? Boom.badRequest(error.message) : Boom.badData(error.message);
  if (error.validation) Object.assign(boom.output.payload, { validation: error.validation });
  return boom;
}

/** Runs `work`, turning a ManifestError into its HTTP response. */
export function withManifestErrors<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof ManifestError) throw manifestErrorToBoom(error);
    throw error;
  }
}
