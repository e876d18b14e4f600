import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { describe, it } from 'node:test';
import type { CertificateSpec } from '../../src/acme/certificate-manager.js';
import type { StoredCertificate } from '../../src/acme/certificate-files.js';
import { sniCallback } from '../../src/app/custom-domains.js';
import { createCustomDomains, hostName, type CustomDomains } from '../../src/domains/custom-domains.js';
import { selfSignedCertificate } from '../helpers/certificates.js';
import { capturingLogger } from '../helpers/logs.js';

const POD = 'a'.repeat(52);
const OTHER = 'b'.repeat(52);

function setup(
  options: {
    perPod?: number;
    ordersPerHour?: number;
    failOrders?: boolean;
    podsKnown?: () => Promise<void>;
  } = {},
) {
  let clock = 1_000_000;
  const records = new Map<string, { values: string[]; ttlSeconds: number }>();
  const lookups: string[] = [];
  const managed = new Map<string, { spec: CertificateSpec; certificate: StoredCertificate }>();
  const released: string[] = [];
  const installed: string[] = [];
  const serving = new Set([POD, OTHER]);
  const logs = capturingLogger();
  const domains = createCustomDomains({
    publicHost: 'codius.test',
    lookupTxt: (name) => {
      lookups.push(name);
      const record = records.get(name);
      if (record === undefined && name.includes('broken')) return Promise.reject(new Error('SERVFAIL'));
      return Promise.resolve(record ?? { values: [], ttlSeconds: 30 });
    },
    podServes: (hash) => serving.has(hash),
    podsKnown: options.podsKnown ?? (() => Promise.resolve()),
    certificates: {
      manage(spec) {
        if (options.failOrders) return Promise.reject(new Error('CA said no'));
        const certificate = {
          certificate: `cert ${spec.name}`,
          privateKey: 'key',
          notBefore: new Date(),
          notAfter: new Date(),
          names: [...spec.names],
        };
        managed.set(spec.name, { spec, certificate });
        return Promise.resolve(certificate);
      },
      current: (name) => managed.get(name)?.certificate,
      release(name) {
        managed.delete(name);
        released.push(name);
        return Promise.resolve();
      },
    },
    perPod: options.perPod ?? 2,
    ordersPerHour: options.ordersPerHour ?? 10,
    onCertificate: (name) => Promise.resolve(void installed.push(name)),
    logger: logs.logger,
    now: () => clock,
  });
  return {
    domains,
    records,
    lookups,
    managed,
    released,
    installed,
    serving,
    logs,
    advance: (ms: number) => (clock += ms),
  };
}

describe('custom domains', () => {
  it('normalises Host names and refuses what is no DNS name', () => {
    assert.equal(hostName('App.Example.Test.:443'), 'app.example.test');
    assert.equal(hostName('[::1]:80'), null);
    assert.equal(hostName('localhost'), null);
    assert.equal(hostName(undefined), null);
  });

  it('serves a name whose proof names a serving pod, with a certificate obtained once', async () => {
    const t = setup();
    t.records.set('_codius.app.example.test', { values: [` ${POD.toUpperCase()} `], ttlSeconds: 120 });
    assert.equal(t.domains.podFor('app.example.test'), null, 'unknown before a check');
    const material = await t.domains.certificateFor('app.example.test');
    assert.deepEqual(material, { cert: 'cert app.example.test', key: 'key' });
    assert.deepEqual(t.installed, ['app.example.test']);
    assert.equal(t.domains.podFor('APP.example.test:443'), POD);
    assert.deepEqual(t.domains.domainsOf(POD), ['app.example.test']);
    await t.domains.certificateFor('app.example.test');
    assert.equal(t.lookups.length, 1, 'cached for the TTL');
    assert.equal(t.managed.get('app.example.test')?.spec.challenge, 'http-01');
  });

  it('checks a proof only once every stored pod is known, so a pod still loading does not fail it', async () => {
    let podsLoaded: () => void = () => undefined;
    const loading = new Promise<void>((resolve) => (podsLoaded = resolve));
    const t = setup({ podsKnown: () => loading });
    t.serving.delete(POD);
    t.records.set('_codius.app.example.test', { values: [POD], ttlSeconds: 120 });
    const verified = t.domains.verify('app.example.test');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(t.lookups, [], 'no lookup before the pods are known');
    t.serving.add(POD);
    podsLoaded();
    assert.equal(await verified, POD);
  });

  it('never treats the host’s own names as custom domains, and gives no certificate without proof', async () => {
    const t = setup();
    assert.equal(await t.domains.certificateFor(`${POD}.codius.test`), undefined);
    assert.equal(await t.domains.verify('codius.test'), null);
    assert.equal(await t.domains.certificateFor('noproof.example.test'), undefined);
    t.records.set('_codius.gone.example.test', { values: [OTHER], ttlSeconds: 60 });
    t.serving.delete(OTHER);
    assert.equal(await t.domains.certificateFor('gone.example.test'), undefined, 'the pod does not serve');
    assert.equal(t.managed.size, 0);
  });

  it('re-checks a proof after its TTL and drops the name and its certificate once it is gone', async () => {
    const t = setup();
    t.records.set('_codius.app.example.test', { values: [POD], ttlSeconds: 60 });
    await t.domains.certificateFor('app.example.test');
    t.records.delete('_codius.app.example.test');
    t.advance(30_000);
    assert.equal(t.domains.podFor('app.example.test'), POD, 'still fresh');
    t.advance(31_000);
    assert.equal(t.domains.podFor('app.example.test'), POD, 'stale: served while it is checked again');
    await t.domains.verify('app.example.test');
    assert.equal(t.domains.podFor('app.example.test'), null);
    assert.deepEqual(t.released, ['app.example.test']);
    const spec = t.managed.get('app.example.test');
    assert.equal(spec, undefined);
  });

  it('keeps the last answer while the resolver fails, and a renewal asks whether the name is still wanted', async () => {
    const t = setup();
    t.records.set('_codius.broken.example.test', { values: [POD], ttlSeconds: 5 });
    await t.domains.certificateFor('broken.example.test');
    const wanted = t.managed.get('broken.example.test')?.spec.stillWanted;
    t.records.delete('_codius.broken.example.test');
    t.advance(10_000);
    assert.equal(await wanted?.(), true, 'a lookup failure is not a missing proof');
    assert.match(t.logs.text(), /could not be looked up/);
  });

  it('bounds orders per pod and per hour, and pauses a name whose order failed', async () => {
    const t = setup({ perPod: 1, ordersPerHour: 2 });
    for (const name of ['one', 'two', 'three', 'four']) {
      t.records.set(`_codius.${name}.example.test`, {
        values: [name === 'one' ? POD : OTHER],
        ttlSeconds: 60,
      });
    }
    assert.ok(await t.domains.certificateFor('one.example.test'));
    t.records.set('_codius.five.example.test', { values: [POD], ttlSeconds: 60 });
    assert.equal(await t.domains.certificateFor('five.example.test'), undefined, 'one per pod');
    assert.match(t.logs.text(), /CODIUS_CUSTOM_DOMAINS_PER_POD/);
    assert.ok(await t.domains.certificateFor('two.example.test'));
    const hourly = setup({ perPod: 5, ordersPerHour: 2 });
    for (const name of ['one', 'two', 'three']) {
      hourly.records.set(`_codius.${name}.example.test`, { values: [OTHER], ttlSeconds: 3600 });
      await hourly.domains.certificateFor(`${name}.example.test`);
    }
    assert.equal(hourly.managed.size, 2, 'two orders this hour');
    assert.match(hourly.logs.text(), /CODIUS_CUSTOM_DOMAIN_ORDERS_PER_HOUR/);
    hourly.advance(3_600_001);
    assert.ok(await hourly.domains.certificateFor('three.example.test'), 'an hour later');

    const failing = setup({ failOrders: true });
    failing.records.set('_codius.app.example.test', { values: [POD], ttlSeconds: 60 });
    assert.equal(await failing.domains.certificateFor('app.example.test'), undefined);
    assert.equal(await failing.domains.certificateFor('app.example.test'), undefined);
    assert.match(failing.logs.text(), /last order failed less than 15 minutes ago/);
  });

  it('orders nothing when custom domains are off', async () => {
    const t = setup({ perPod: 0 });
    t.records.set('_codius.app.example.test', { values: [POD], ttlSeconds: 60 });
    assert.equal(await t.domains.certificateFor('app.example.test'), undefined);
  });
});

describe('SNI of the built-in engine', () => {
  it('serves a custom domain its own certificate and the host’s names the default one', async () => {
    const make = (name: string) => selfSignedCertificate(name);
    const host = await make('codius.test');
    const custom = await make('app.example.test');
    const asked: string[] = [];
    const domains = {
      certificateFor: (name: string) => {
        asked.push(name);
        return Promise.resolve(name === 'app.example.test' ? custom : undefined);
      },
    } as unknown as CustomDomains;
    const server = createServer({ ...host, SNICallback: sniCallback('codius.test', domains) }, (_req, res) =>
      res.end('ok'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const subject = (servername: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
          resolve(String(socket.getPeerCertificate().subject.CN));
          socket.end();
        });
        socket.on('error', reject);
      });
    try {
      assert.equal(await subject('app.example.test'), 'app.example.test');
      assert.equal(await subject('app.example.test'), 'app.example.test', 'its context cached');
      assert.equal(await subject(`${POD}.codius.test`), 'codius.test');
      assert.equal(await subject('other.example.test'), 'codius.test');
      assert.deepEqual(asked, ['app.example.test', 'app.example.test', 'other.example.test']);
    } finally {
      server.close();
    }
  });
});
