import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  AcmeOrderError,
  createAcmeIssuer,
  type AcmeClient,
  type ChallengeSolver,
} from '../../src/acme/acme-issuer.js';
import {
  createCertificateFiles,
  type CertificateFiles,
  type StoredCertificate,
} from '../../src/acme/certificate-files.js';
import { createCertificateManager } from '../../src/acme/certificate-manager.js';
import { selfSignedCertificate } from '../helpers/certificates.js';
import { capturingLogger } from '../helpers/logs.js';
import { tempDir } from '../helpers/tmp.js';
import { until } from '../helpers/wait.js';

/** Certificate files in memory whose certificates live `lifetimeMs` from when they are saved. */
function memoryFiles(lifetimeMs: number): CertificateFiles & { saved: string[] } {
  const kept = new Map<string, StoredCertificate>();
  const failures = new Map<string, { count: number; at: number }>();
  const saved: string[] = [];
  return {
    saved,
    accountKey: (create) => create(),
    load: (name) => Promise.resolve(kept.get(name)),
    save(name, issued) {
      const stored = {
        ...issued,
        notBefore: new Date(),
        notAfter: new Date(Date.now() + lifetimeMs),
        names: [name],
      };
      kept.set(name, stored);
      saved.push(issued.certificate);
      return Promise.resolve(stored);
    },
    remove(name) {
      kept.delete(name);
      return Promise.resolve();
    },
    failures: (name) => Promise.resolve(failures.get(name) ?? null),
    recordFailure(name, failure) {
      if (failure) failures.set(name, failure);
      else failures.delete(name);
      return Promise.resolve();
    },
  };
}

/** An issuer that fails while `failing` says so and otherwise issues numbered certificates. */
function countingIssuer(): {
  issue: () => Promise<{ certificate: string; privateKey: string; notBefore: Date; notAfter: Date }>;
  failing: boolean;
  count: number;
} {
  const state = {
    failing: false,
    count: 0,
    issue() {
      if (state.failing) return Promise.reject(new Error('DNS refused'));
      state.count += 1;
      return Promise.resolve({
        certificate: `cert ${state.count}`,
        privateKey: 'key',
        notBefore: new Date(),
        notAfter: new Date(),
      });
    },
  };
  return state;
}

const spec = { name: 'codius.test', names: ['codius.test', '*.codius.test'], challenge: 'dns-01' as const };

describe('certificate manager', () => {
  it('obtains a missing certificate, renews at two thirds of its lifetime and tells its listeners', async () => {
    const issuer = countingIssuer();
    const files = memoryFiles(600);
    const logs = capturingLogger();
    const manager = createCertificateManager({
      issuer,
      files,
      logger: logs.logger,
      retryMinMs: 50,
      retryMaxMs: 200,
    });
    const renewed: string[] = [];
    manager.onRenewed((_name, certificate) => void renewed.push(certificate.certificate));
    manager.onRenewed(() => Promise.reject(new Error('HAProxy refused')));
    const first = await manager.manage(spec);
    assert.equal(first.certificate, 'cert 1');
    assert.equal(await manager.manage(spec), first, 'managed once');
    const started = Date.now();
    await until('renewed', () => renewed.length > 0, 3000, 10);
    assert.ok(Date.now() - started >= 300, 'not before two thirds of 600 ms');
    assert.equal(manager.current(spec.name)?.certificate, 'cert 2');
    assert.match(logs.text(), /could not put the renewed certificate into service/);
    const [status] = manager.status();
    assert.equal(status?.failures, 0);
    assert.deepEqual(status.names, spec.names);
    manager.stop();
  });

  it('keeps the certificate in service while renewals fail, retrying with growing pauses', async () => {
    const issuer = countingIssuer();
    const manager = createCertificateManager({
      issuer,
      files: memoryFiles(60_000),
      logger: capturingLogger().logger,
      retryMinMs: 20,
      retryMaxMs: 80,
    });
    await manager.manage(spec);
    issuer.failing = true;
    await assert.rejects(manager.renewNow(spec.name), /DNS refused/);
    await until('three failures', () => (manager.status()[0]?.failures ?? 0) >= 3, 3000, 5);
    assert.equal(manager.current(spec.name)?.certificate, 'cert 1');
    assert.equal(manager.status()[0]?.lastError, 'DNS refused');
    issuer.failing = false;
    await until(
      'renewed after the failures',
      () => manager.current(spec.name)?.certificate === 'cert 2',
      3000,
      5,
    );
    assert.equal(manager.status()[0]?.failures, 0);
    await assert.rejects(manager.renewNow('unknown.test'), /no certificate named unknown\.test/);
    manager.stop();
  });

  it('drops a certificate nobody wants any more instead of renewing it', async () => {
    const issuer = countingIssuer();
    const files = memoryFiles(60_000);
    const manager = createCertificateManager({
      issuer,
      files,
      logger: capturingLogger().logger,
      retryMinMs: 20,
      retryMaxMs: 80,
    });
    await manager.manage({ ...spec, stillWanted: () => Promise.resolve(false) });
    await manager.renewNow(spec.name);
    assert.equal(manager.current(spec.name), undefined);
    assert.equal(await files.load(spec.name), undefined);
    assert.equal(issuer.count, 1);
    manager.stop();
  });

  it('loads a valid certificate instead of ordering, and orders again for an expired one or other names', async () => {
    const issuer = countingIssuer();
    const files = memoryFiles(60_000);
    await files.save(spec.name, { certificate: 'kept', privateKey: 'key' });
    const manager = createCertificateManager({
      issuer,
      files,
      logger: capturingLogger().logger,
      retryMinMs: 20,
      retryMaxMs: 80,
    });
    // The kept one covers only the host name, not the wildcard: ordered again.
    assert.equal((await manager.manage(spec)).certificate, 'cert 1');
    const other = createCertificateManager({
      issuer,
      files,
      logger: capturingLogger().logger,
      retryMinMs: 20,
      retryMaxMs: 80,
    });
    await files.save('plain.test', { certificate: 'kept', privateKey: 'key' });
    assert.equal(
      (await other.manage({ name: 'plain.test', names: ['plain.test'], challenge: 'http-01' })).certificate,
      'kept',
    );
    const expired = memoryFiles(-1);
    await expired.save('plain.test', { certificate: 'old', privateKey: 'key' });
    const third = createCertificateManager({
      issuer,
      files: expired,
      logger: capturingLogger().logger,
      retryMinMs: 20,
      retryMaxMs: 80,
    });
    assert.notEqual(
      (await third.manage({ name: 'plain.test', names: ['plain.test'], challenge: 'http-01' })).certificate,
      'old',
    );
    for (const each of [manager, other, third]) each.stop();
  });

  it('sends no first order while the pause after failed ones lasts, across managers (restarts)', async () => {
    const issuer = countingIssuer();
    const files = memoryFiles(60_000);
    const make = () =>
      createCertificateManager({
        issuer,
        files,
        logger: capturingLogger().logger,
        retryMinMs: 150,
        retryMaxMs: 1000,
      });
    issuer.failing = true;
    await assert.rejects(make().manage(spec), /DNS refused/);
    issuer.failing = false;
    await assert.rejects(make().manage(spec), /the last 1 orders for codius\.test failed/);
    assert.equal(issuer.count, 0);
    await new Promise((resolve) => setTimeout(resolve, 160));
    const manager = make();
    assert.equal((await manager.manage(spec)).certificate, 'cert 1');
    assert.equal(await files.failures(spec.name), null, 'forgotten after a success');
    manager.stop();
  });
});

describe('certificate files', () => {
  it('keeps the account key and certificates with mode 600, and reads back names and validity', async () => {
    const dir = await tempDir();
    const files = createCertificateFiles(join(dir, 'acme'));
    const key = await files.accountKey(() => Promise.resolve(Buffer.from('account key')));
    assert.equal(key.toString(), 'account key');
    assert.equal(
      (await files.accountKey(() => Promise.reject(new Error('made twice')))).toString(),
      'account key',
    );
    assert.equal((await stat(join(dir, 'acme', 'account.key'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'acme'))).mode & 0o777, 0o700);

    const made = await selfSignedCertificate('codius.test', {
      days: 3,
      altNames: ['codius.test', '*.codius.test'],
    });
    const certificate = made.cert;
    const privateKey = made.key;
    const saved = await files.save('codius.test', { certificate, privateKey });
    assert.deepEqual(saved.names, ['codius.test', '*.codius.test']);
    assert.ok(saved.notAfter.getTime() - saved.notBefore.getTime() >= 3 * 86_400_000 - 1000);
    assert.equal((await stat(join(dir, 'acme', 'certificates', 'codius.test.pem'))).mode & 0o777, 0o600);
    const loaded = await files.load('codius.test');
    assert.equal(loaded?.privateKey.trim(), privateKey.trim());
    assert.equal(loaded.certificate.trim(), certificate.trim());
    assert.equal(await files.load('other.test'), undefined);
    await assert.rejects(files.save('../escape', { certificate, privateKey }), /not a certificate name/);
    await writeFile(join(dir, 'acme', 'certificates', 'broken.test.pem'), certificate);
    await assert.rejects(files.load('broken.test'), /has no private key/);
    await files.recordFailure('codius.test', { count: 2, at: 5 });
    assert.deepEqual(await files.failures('codius.test'), { count: 2, at: 5 });
    await files.recordFailure('codius.test', null);
    assert.equal(await files.failures('codius.test'), null);
    await files.remove('codius.test');
    assert.equal(await files.load('codius.test'), undefined);
  });
});

/** An ACME client that records calls; authorizations and failures as the test sets them. */
function fakeClient(authorizations: Array<{ value: string; wildcard?: boolean; status?: string }>) {
  const calls: string[] = [];
  const state = { failAccount: 1, failChallenge: false };
  const client: AcmeClient = {
    createAccount() {
      calls.push('account');
      if (state.failAccount-- > 0) return Promise.reject(new Error('CA unreachable'));
      return Promise.resolve({});
    },
    createOrder: () => Promise.resolve({ url: 'https://ca/order/1', status: 'pending' }),
    getAuthorizations: () =>
      Promise.resolve(
        authorizations.map((authz, i) => ({
          url: `https://ca/authz/${i}`,
          status: authz.status ?? 'pending',
          identifier: { type: 'dns', value: authz.value },
          ...(authz.wildcard ? { wildcard: true } : {}),
          challenges: [
            { type: 'http-01', url: `https://ca/chall/${i}/http`, token: `t${i}` },
            { type: 'dns-01', url: `https://ca/chall/${i}/dns`, token: `t${i}` },
          ],
        })),
      ),
    getChallengeKeyAuthorization: (challenge) => Promise.resolve(`ka-${challenge.token}`),
    completeChallenge(challenge) {
      calls.push(`complete ${challenge.type} ${challenge.token}`);
      return state.failChallenge
        ? Promise.reject(new Error('urn:ietf:params:acme:error:dns'))
        : Promise.resolve({});
    },
    waitForValidStatus: () => Promise.resolve({}),
    finalizeOrder: (order) => Promise.resolve(order),
    getCertificate: () => selfSignedCertificate('codius.test').then(({ cert }) => cert),
  };
  return { client, calls, state };
}

function recordingSolver(log: string[], type: string): ChallengeSolver {
  return {
    present: (identifier, token, ka) =>
      Promise.resolve(void log.push(`${type} present ${identifier} ${token} ${ka}`)),
    cleanup: (identifier) => Promise.resolve(void log.push(`${type} cleanup ${identifier}`)),
  };
}

describe('ACME issuer', () => {
  it('proves a wildcard with dns-01 whatever is preferred, skips valid authorizations, and registers once', async () => {
    const { client, calls } = fakeClient([
      { value: 'codius.test' },
      { value: 'codius.test', wildcard: true },
      { value: 'old.codius.test', status: 'valid' },
    ]);
    const solved: string[] = [];
    const issuer = createAcmeIssuer({
      client,
      makeCsr: () => Promise.resolve({ privateKey: Buffer.from('k'), csr: Buffer.from('csr') }),
      solvers: { 'dns-01': recordingSolver(solved, 'dns'), 'http-01': recordingSolver(solved, 'http') },
      contactEmail: 'ops@codius.test',
      logger: capturingLogger().logger,
    });
    await assert.rejects(
      issuer.issue(['codius.test'], 'http-01'),
      (error: unknown) =>
        error instanceof AcmeOrderError && /account registration failed: CA unreachable/.test(error.message),
    );
    const issued = await issuer.issue(['codius.test', '*.codius.test'], 'http-01');
    assert.match(issued.certificate, /BEGIN CERTIFICATE/);
    assert.ok(solved.includes('http present codius.test t0 ka-t0'));
    assert.ok(solved.includes('dns present codius.test t1 ka-t1'));
    assert.equal(solved.filter((line) => line.includes('cleanup')).length, 2);
    assert.equal(
      calls.filter((call) => call === 'account').length,
      2,
      'registered again only after a failure',
    );
    await issuer.issue(['codius.test'], 'http-01');
    assert.equal(calls.filter((call) => call === 'account').length, 2);
  });

  it('takes the proof away when the CA refuses the challenge, and says which step failed', async () => {
    const { client, state } = fakeClient([{ value: 'app.example.test' }]);
    state.failAccount = 0;
    state.failChallenge = true;
    const solved: string[] = [];
    const issuer = createAcmeIssuer({
      client,
      makeCsr: () => Promise.resolve({ privateKey: Buffer.from('k'), csr: Buffer.from('csr') }),
      solvers: { 'http-01': recordingSolver(solved, 'http') },
      contactEmail: null,
      logger: capturingLogger().logger,
    });
    await assert.rejects(
      issuer.issue(['app.example.test'], 'http-01'),
      /ACME http-01 challenge of app\.example\.test failed: .*error:dns/,
    );
    assert.deepEqual(solved, ['http present app.example.test t0 ka-t0', 'http cleanup app.example.test']);
    await assert.rejects(issuer.issue(['app.example.test'], 'dns-01'), /no dns-01 challenge can be answered/);
  });
});
