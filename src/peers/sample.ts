/** Most peers any answer lists (GET /peers, POST /peers/discover, /info?requestPeers), as peers expect. */
export const MAX_PEERS_LISTED = 1000;

/**
 * What `GET /peers` lists: `limit` peers drawn at random without replacement, so clients
 * asking repeatedly spread over the network. When there are fewer peers than `limit`, all of them in the
 * order they were added.
 */
export function samplePeers(
  uris: readonly string[],
  limit: number,
  random: () => number = Math.random,
): string[] {
  if (limit > uris.length) return [...uris];
  const pool = [...uris];
  // Partial Fisher-Yates: the first `limit` slots end up a uniform sample.
  for (let i = 0; i < limit; i += 1) {
    const j = i + Math.floor(random() * (pool.length - i));
    const picked = pool[j] as string;
    pool[j] = pool[i] as string;
    pool[i] = picked;
  }
  return pool.slice(0, limit);
}
