import type { ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { MAX_PEERS_LISTED, samplePeers } from '../../peers/sample.js';
import { SERVICE_NAME, VERSION } from '../../version.js';

const peersQuery = Joi.object({
  limit: Joi.number().integer().min(1).max(MAX_PEERS_LISTED),
});

const discoverPayload = Joi.object({
  peers: Joi.array().items(Joi.string().max(2048)).max(MAX_PEERS_LISTED).required(),
  limit: Joi.number().integer().min(1).max(MAX_PEERS_LISTED),
});

export interface PeerListing {
  /** Every known peer URI, in the order they were added. */
  listUris(): Promise<string[]>;
  /** Validates offered peers in the background and adds the good ones. */
  offer(uris: readonly string[]): void;
}

/**
 * `GET /peers?limit=`: a random sample of known peers. A bad `limit` or any other query key is a 400
 * `Invalid request query input`, the text peers and clients expect.
 * `POST /peers/discover`: another host announces itself (and others); they are validated in the
 * background and the answer lists up to `limit` known peers.
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
    {
      method: 'POST',
      path: '/peers/discover',
      options: {
        // A throw here is 400 "Invalid request payload input", the text peers expect.
        validate: { payload: (value: unknown) => discoverPayload.validateAsync(value) },
      },
      handler: async (request) => {
        const { peers: offered, limit = MAX_PEERS_LISTED } = request.payload as {
          peers: string[];
          limit?: number;
        };
        peers.offer(offered);
        return { name: SERVICE_NAME, version: VERSION, peers: samplePeers(await peers.listUris(), limit) };
      },
    },
  ];
}
