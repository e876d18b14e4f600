import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPublicAddress } from '../../src/net/address-policy.js';
import { normalizePeerUri } from '../../src/peers/peer-uri.js';
import { samplePeers } from '../../src/peers/sample.js';

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

describe('peer URIs', () => {
  it('canonicalises: lower case, default port and trailing slash dropped', () => {
    assert.equal(normalizePeerUri('HTTPS://Host.Example:443/', false), 'https://host.example');
    assert.equal(normalizePeerUri('https://host.example:8443', false), 'https://host.example:8443');
    assert.equal(normalizePeerUri('https://[::1]:443', false), 'https://[::1]');
    assert.equal(normalizePeerUri('http://127.0.0.1:3000/', true), 'http://127.0.0.1:3000');
  });

  it('refuses anything but a bare https origin (http too in dev mode)', () => {
    for (const raw of [
      '',
      'host.example',
      'http://host.example',
      'ftp://host.example',
      'https://user:pw@host.example',
      'https://host.example/path',
      'https://host.example/?q=1',
      'https://host.example/#f',
      `https://${'a'.repeat(250)}.example`,
    ]) {
      assert.equal(normalizePeerUri(raw, false), null, raw);
    }
    assert.equal(normalizePeerUri('ftp://host.example', true), null);
  });
});

describe('peer address policy', () => {
  it('allows public addresses only', () => {
    for (const address of [
      '93.184.216.34',
      '8.8.8.8',
      '2606:4700::1111',
      '::ffff:93.184.216.34',
      '64:ff9b::808:808',
      '64:ff9b::8.8.8.8',
      '2002:808:808::1',
    ]) {
      assert.equal(isPublicAddress(address), true, address);
    }
    for (const address of [
      '127.0.0.1',
      '127.255.0.9',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '100.64.0.1',
      '169.254.169.254',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      // Loopback spelled as IPv4-compatible, IPv4-translated, NAT64 and 6to4 addresses.
      '::7f00:1',
      '::127.0.0.1',
      '::ffff:0:7f00:1',
      '::ffff:0:127.0.0.1',
      '64:ff9b::7f00:1',
      '64:ff9b::169.254.169.254',
      '2002:7f00:1::',
      '2002:a00:1::1',
      '100::1',
      // Ranges of the one list of non-public networks that peers once missed.
      '192.0.0.1',
      '198.18.0.1',
      '198.19.255.254',
      'fec0::1',
      '64:ff9b:1::a00:1',
      'not an address',
    ]) {
      assert.equal(isPublicAddress(address), false, address);
    }
  });
});
