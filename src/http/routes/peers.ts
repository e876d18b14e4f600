import type { ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { samplePeers } from '../../peers/sample.js';

/** Largest (and default) `limit` of GET /peers, as in the original. */
export const MAX_PEERS_LISTED = 1000;

const peersQuery = Joi.object({
  limit: Joi.number().integer().min(1).max(MAX_PEERS_LISTED),
});

export interface PeerListing {
  /** Every known peer URI, in the order they were added. */
  listUris(): Promise<string[]>;
}

/**
 * `GET /peers?limit=` (spec §1.3.4): a random sample of known peers. A bad `limit` or any other query key
 * is a 400 `Invalid request query input`, as in the original.
 */
export function peerRoutes(peers: PeerListing): ServerRoute[] {
  return [
    {
      method: 'GET',
      path: '/peers',
      options: {
        // hapi turns a throw here into 400 "Invalid request query input"; the returned value is the query.
        validate: { query: (value: unknown) => peersQuery.validateAsync(value) },
      },
      handler: async (request) => {
        const { limit = MAX_PEERS_LISTED } = request.query as { limit?: number };
        return { peers: samplePeers(await peers.listUris(), limit) };
      },
    },
  ];
}
