import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { samplePeers } from '../src/peers/sample.js';

/** A deterministic generator (mulberry32), so the sample tests are repeatable. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('peer sampling', () => {
  const peers = Array.from({ length: 10 }, (_, i) => `https://peer-${i}.example`);

  it('returns every peer in insertion order when fewer than the limit', () => {
    assert.deepEqual(samplePeers(peers, 11), peers);
    assert.deepEqual(samplePeers([], 1000), []);
  });

  it('draws `limit` distinct peers, a permutation when the limit equals the count', () => {
    const random = seeded(7);
    for (let round = 0; round < 100; round += 1) {
      const sample = samplePeers(peers, 3, random);
      assert.equal(sample.length, 3);
      assert.equal(new Set(sample).size, 3);
      assert.ok(sample.every((uri) => peers.includes(uri)));
    }
    assert.deepEqual(samplePeers(peers, 10, random).sort(), [...peers].sort());
  });

  it('gives every peer a fair chance', () => {
    const random = seeded(42);
    const hits = new Map<string, number>();
    for (let round = 0; round < 10_000; round += 1) {
      for (const uri of samplePeers(peers, 2, random)) hits.set(uri, (hits.get(uri) ?? 0) + 1);
    }
    // Expected 2,000 each; a uniform sampler stays well within ±10 % over 10,000 rounds.
    for (const uri of peers) {
      const count = hits.get(uri) ?? 0;
      assert.ok(count > 1800 && count < 2200, `${uri}: ${count}`);
    }
  });
});
