import type { ServerRoute } from '@hapi/hapi';
import { codiusError } from '../../domain/errors.js';
import { MANIFEST_HASH_PATTERN } from '../../manifest/index.js';
import type { RentReceiver } from '../../payments/rent.js';

/**
 * `GET /pods/{hash}/rent`: a pod's rent address as SPSP (`application/spsp4+json`), fresh for every
 * request, so any STREAM sender (a person, another program, the pod itself) can pay for its time
 * without knowing this host's API. 404 for a hash that names no live paid pod.
 */
export function rentRoutes(rent: RentReceiver): ServerRoute[] {
  return [
    {
      method: 'GET',
      path: '/pods/{hash}/rent',
      handler: async (request, h) => {
        const hash = String(request.params.hash).toLowerCase();
        if (!MANIFEST_HASH_PATTERN.test(hash)) throw codiusError('manifest_hash_malformed');
        return h
          .response(await rent.spsp(hash))
          .type('application/spsp4+json')
          .header('cache-control', 'no-store');
      },
    },
  ];
}
