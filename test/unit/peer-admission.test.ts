import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPeerAdmission, registrableDomain } from '../../src/peers/peer-admission.js';
import { openStore } from '../../src/store/store.js';

describe('peer table bounds', () => {
  it('keeps at most 10 peers of one registrable domain: a wildcard flood adds 10', async () => {
    const store = await openStore({ root: '', inMemory: true });
    const admission = createPeerAdmission({ store: store.peers, maxPeers: 1000 });
    const outcomes = new Map<string, number>();
    for (let i = 0; i < 2_000; i += 1) {
      const outcome = await admission.admit(`https://h${i}.wild.example.com`, true);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(outcomes), { added: 10, domain_full: 1990 });
    assert.equal(await admission.admit('https://codius.other.example.org', true), 'added');
    assert.equal(await admission.admit('https://codius.other.example.org', true), 'known');
    await store.close();
  });

  it('when full, prefers peers that answered recently: a stale one makes room, fresh ones do not', async () => {
    let clock = 10_000_000;
    const store = await openStore({ root: '', inMemory: true, now: () => clock });
    const admission = createPeerAdmission({ store: store.peers, maxPeers: 3, now: () => clock });
    assert.equal(await admission.admit('https://a.example', false), 'added', 'never answered');
    assert.equal(await admission.admit('https://b.example', true), 'added');
    assert.equal(await admission.admit('https://c.example', true), 'added');
    // a never answered: stale, so it makes room.
    assert.equal(await admission.admit('https://d.example', true), 'added');
    assert.equal(await store.peers.get('https://a.example'), undefined);
    assert.equal(
      await admission.admit('https://e.example', true),
      'full',
      'everyone answered within the hour',
    );
    clock += 2 * 3_600_000;
    await store.peers.recordSuccess('https://c.example');
    await store.peers.recordSuccess('https://d.example');
    assert.equal(await admission.admit('https://e.example', true), 'added');
    assert.equal(await store.peers.get('https://b.example'), undefined, 'the one silent longest went');
    assert.equal(await store.peers.count(), 3);
    await store.close();
  });

  it('trims a table above the bound, stalest first', async () => {
    let clock = 1_000;
    const store = await openStore({ root: '', inMemory: true, now: () => clock });
    for (const name of ['a', 'b', 'c', 'd']) {
      await store.peers.add(`https://${name}.example`);
      clock += 1_000;
      await store.peers.recordSuccess(`https://${name}.example`);
    }
    const admission = createPeerAdmission({ store: store.peers, maxPeers: 2 });
    assert.equal(await admission.trim(), 2);
    assert.deepEqual((await store.peers.listUris()).sort(), ['https://c.example', 'https://d.example']);
    assert.equal(await admission.trim(), 0);
    await store.close();
  });

  it('names the registrable domain by the Public Suffix List', () => {
    assert.equal(registrableDomain('https://h1.codius.justmoon.com'), 'justmoon.com');
    assert.equal(registrableDomain('https://x.y.example.co.uk:8443'), 'example.co.uk');
    assert.equal(registrableDomain('https://alice.github.io'), 'alice.github.io');
    assert.equal(registrableDomain('http://198.51.100.7:3000'), '198.51.100.7');
  });
});
