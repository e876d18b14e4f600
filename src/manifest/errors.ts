/** Why a field failed validation, for people; sent beside the original's fixed `message`. */
export interface ValidationDetail {
  source: 'payload' | 'query';
  /** Path of the offending field, e.g. ["manifest", "containers", "0", "image"]. */
  keys: string[];
  reason: string;
}

/**
 * A client error in a pod request. `message` is exactly what the original codiusd sent (clients and
 * scripts match on it); `validation` adds a readable explanation.
 */
export class ManifestError extends Error {
  constructor(
    readonly statusCode: 400 | 422,
    message: string,
    readonly validation?: ValidationDetail,
  ) {
    super(message);
    this.name = 'ManifestError';
  }
}
