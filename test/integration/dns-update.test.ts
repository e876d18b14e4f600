import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DnsPublishError } from '../../src/acme/dns-publisher.js';
import { createRfc2136Publisher } from '../../src/acme/rfc2136.js';
import type { TsigAlgorithm } from '../../src/acme/tsig.js';
import { startBind } from '../helpers/bind.js';
import { runDaemon } from '../helpers/daemon.js';
import { startKnot } from '../helpers/knot.js';
import { tempDir } from '../helpers/tmp.js';

interface Server {
  host: string;
  port: number;
  acmeKey: { name: string; algorithm: TsigAlgorithm; secret: string };
}

function publisherFor(server: Server, change: { secret?: string; name?: string; now?: () => number } = {}) {
  return createRfc2136Publisher({
    server: { host: server.host, port: server.port },
    zone: 'codius.test',
    key: {
      name: change.name ?? server.acmeKey.name,
      algorithm: server.acmeKey.algorithm,
      secret: Buffer.from(change.secret ?? server.acmeKey.secret, 'base64'),
    },
    ...(change.now ? { now: change.now } : {}),
  });
}

async function refusal(action: Promise<void>): Promise<string> {
  const error = await action.then(
    () => assert.fail('the update was accepted'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof DnsPublishError, String(error));
  return error.message;
}

const wrongSecret = Buffer.alloc(32, 7).toString('base64');

describe('RFC 2136 updates signed with TSIG', () => {
  it('Knot: adds and removes one TXT value among others on the same name', async () => {
    const knot = await startKnot([{ domain: 'codius.test', records: [] }]);
    const publisher = publisherFor(knot);
    await publisher.add('_acme-challenge.codius.test', 'first');
    await publisher.add('_acme-challenge.codius.test', 'second');
    assert.deepEqual((await knot.txt('_acme-challenge.codius.test')).sort(), ['first', 'second']);
    await publisher.remove('_acme-challenge.codius.test', 'first');
    assert.deepEqual(await knot.txt('_acme-challenge.codius.test'), ['second']);
  });

  it('Knot: says why it refused a wrong secret, an unknown key, a skewed clock and a name outside the ACL', async () => {
    const knot = await startKnot([{ domain: 'codius.test', records: [] }]);
    const name = '_acme-challenge.codius.test';
    assert.match(await refusal(publisherFor(knot, { secret: wrongSecret }).add(name, 'x')), /BADSIG/);
    assert.match(await refusal(publisherFor(knot, { name: 'nobody' }).add(name, 'x')), /BADKEY/);
    const skewed = publisherFor(knot, { now: () => Date.now() - 3_600_000 });
    assert.match(await refusal(skewed.add(name, 'x')), /BADTIME/);
    assert.match(
      await refusal(publisherFor(knot).add('www.codius.test', 'x')),
      /BADKEY.*outside what the key may update/,
    );
    assert.match(await refusal(publisherFor(knot).add('www.example.org', 'x')), /not inside/);
    assert.deepEqual(await knot.txt(name), []);
  });

  it('BIND: adds and removes one TXT value, and refuses a name its update policy does not grant', async () => {
    const bind = await startBind('codius.test');
    const publisher = publisherFor(bind);
    await publisher.add('_acme-challenge.codius.test', 'first');
    await publisher.add('_acme-challenge.codius.test', 'second');
    assert.deepEqual((await bind.txt('_acme-challenge.codius.test')).sort(), ['first', 'second']);
    await publisher.remove('_acme-challenge.codius.test', 'first');
    assert.deepEqual(await bind.txt('_acme-challenge.codius.test'), ['second']);
    assert.match(await refusal(publisher.add('www.codius.test', 'x')), /REFUSED/);
    assert.match(
      await refusal(publisherFor(bind, { secret: wrongSecret }).add('_acme-challenge.codius.test', 'x')),
      /BADSIG/,
    );
  });

  it('codiusd doctor --acme publishes a test record, sees it at the authoritative servers and removes it', async () => {
    const knot = await startKnot([{ domain: 'codius.test', records: [] }]);
    const env = (secret: string): Record<string, string> => ({
      CODIUS_PUBLIC_URI: 'https://codius.test',
      CODIUS_ROOT: '',
      CODIUS_ACME: 'true',
      CODIUS_ACME_RFC2136_SERVER: `127.0.0.1:${knot.port}`,
      CODIUS_ACME_RFC2136_TSIG_NAME: knot.acmeKey.name,
      CODIUS_ACME_RFC2136_TSIG_SECRET: secret,
      CODIUS_DNS_RESOLVER: `127.0.0.1:${knot.port}`,
    });
    const doctor = async (secret: string): Promise<{ id: string; status: string; detail: string }[]> => {
      const child = runDaemon({ ...env(secret), CODIUS_ROOT: await tempDir() }, [
        'doctor',
        '--json',
        '--acme',
      ]);
      await child.exited;
      const report = JSON.parse(child.output().slice(child.output().indexOf('{'))) as {
        checks: { id: string; status: string; detail: string }[];
      };
      return report.checks;
    };
    const passed = (await doctor(knot.acmeKey.secret)).find((line) => line.id === 'acme-dns');
    assert.equal(passed?.status, 'pass', passed?.detail);
    assert.match(passed.detail, /TXT _acme-challenge\.codius\.test published in \d+ ms .* removed/);
    assert.deepEqual(await knot.txt('_acme-challenge.codius.test'), []);
    const refused = (await doctor(wrongSecret)).find((line) => line.id === 'acme-dns');
    assert.equal(refused?.status, 'fail');
    assert.match(refused.detail, /BADSIG/);
  });
});
