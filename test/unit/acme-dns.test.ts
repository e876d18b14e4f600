import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  encodeName,
  encodeQuery,
  encodeTxtUpdate,
  parseAnswer,
  parseTxtAnswer,
  txtData,
  TYPE_TXT,
} from '../../src/acme/dns-message.js';
import { createExecHookPublisher } from '../../src/acme/exec-hook.js';
import { signMessage, verifyAnswer, type TsigKey } from '../../src/acme/tsig.js';
import { startHttpPort } from '../../src/http/http-port.js';
import { capturingLogger } from '../helpers/logs.js';
import { tempDir } from '../helpers/tmp.js';

const KEY: TsigKey = { name: 'codiusd-acme', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 9) };

/** A TXT answer to a query, with records of the given values and TTLs. */
function txtAnswer(query: Buffer, records: Array<[string, number]>, flags = 0x8180): Buffer {
  const header = Buffer.from(query.subarray(0, 12));
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(records.length, 6);
  const answers = records.map(([value, ttl]) => {
    const data = txtData(value);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(TYPE_TXT, 0);
    fixed.writeUInt16BE(1, 2);
    fixed.writeUInt32BE(ttl, 4);
    fixed.writeUInt16BE(data.length, 8);
    // The owner as a pointer to the question's name, as servers compress it.
    return Buffer.concat([Buffer.from([0xc0, 12]), fixed, data]);
  });
  return Buffer.concat([header, query.subarray(12), ...answers]);
}

describe('DNS messages', () => {
  it('encodes names canonically and refuses what DNS cannot carry', () => {
    assert.deepEqual(encodeName('A.b.'), Buffer.from([1, 0x61, 1, 0x62, 0]));
    assert.throws(() => encodeName(`${'x'.repeat(64)}.test`), /longer than 63/);
    assert.throws(() => encodeName(Array.from({ length: 50 }, () => 'abcde').join('.')), /longer than 255/);
  });

  it('splits long TXT values into character-strings of 255 bytes', () => {
    const data = txtData('x'.repeat(300));
    assert.equal(data[0], 255);
    assert.equal(data[256], 45);
    assert.deepEqual(txtData(''), Buffer.from([0]));
  });

  it('lays an UPDATE out as RFC 2136 says: zone SOA, one change, delete by class NONE', () => {
    const message = encodeTxtUpdate(0x1234, 'codius.test', [
      { action: 'delete', name: '_acme-challenge.codius.test', value: 'v', ttl: 0 },
    ]);
    assert.equal(message.readUInt16BE(0), 0x1234);
    assert.equal(message.readUInt16BE(2) >> 11, 5, 'opcode UPDATE');
    assert.deepEqual(
      [4, 6, 8, 10].map((at) => message.readUInt16BE(at)),
      [1, 0, 1, 0],
    );
    const afterZone = 12 + encodeName('codius.test').length + 4;
    const classAt = afterZone + encodeName('_acme-challenge.codius.test').length + 2;
    assert.equal(message.readUInt16BE(classAt), 254);
  });

  it('signs with TSIG, and tells a forged or refused answer from the server’s own', () => {
    const unsigned = encodeTxtUpdate(7, 'codius.test', [
      { action: 'add', name: '_acme-challenge.codius.test', value: 'v', ttl: 60 },
    ]);
    const signed = signMessage(unsigned, KEY, 1_700_000_000);
    assert.equal(signed.message.readUInt16BE(10), 1, 'the TSIG record counted');
    const parsed = parseAnswer(signed.message);
    assert.ok(parsed.tsig);
    assert.deepEqual(parsed.unsigned, unsigned);
    // The request's own signature checked as if it were an answer: not the server's (no request MAC in it).
    assert.equal(verifyAnswer(parsed.unsigned, parsed.tsig, KEY, signed.mac).authentic, false);
    // A BADKEY refusal: no MAC, the error in the record.
    const refusal = Buffer.from(parsed.tsig);
    const macSizeAt = encodeName(KEY.algorithm).length + 8;
    const withoutMac = Buffer.concat([
      refusal.subarray(0, macSizeAt),
      Buffer.from([0, 0]),
      refusal.subarray(macSizeAt + 2 + 32),
    ]);
    withoutMac.writeUInt16BE(17, withoutMac.length - 4);
    assert.deepEqual(verifyAnswer(parsed.unsigned, withoutMac, KEY, signed.mac), {
      error: 17,
      authentic: false,
    });
    assert.throws(() => parseAnswer(Buffer.alloc(4)), /shorter than its header/);
  });

  it('reads TXT answers with their smallest TTL, and sees truncation', () => {
    const query = encodeQuery(42, '_codius.app.example.test', TYPE_TXT);
    const answer = parseTxtAnswer(
      txtAnswer(query, [
        ['abc', 300],
        ['x'.repeat(300), 60],
      ]),
    );
    assert.deepEqual(answer.values, ['abc', 'x'.repeat(300)]);
    assert.equal(answer.ttl, 60);
    assert.equal(answer.rcode, 0);
    const none = parseTxtAnswer(txtAnswer(query, [], 0x8183));
    assert.deepEqual(
      { rcode: none.rcode, ttl: none.ttl, values: none.values },
      { rcode: 3, ttl: null, values: [] },
    );
    assert.equal(parseTxtAnswer(txtAnswer(query, [], 0x8380)).truncated, true);
  });
});

describe('DNS hook', () => {
  it('runs the program with add|remove, logs what it prints, and gives it no CODIUS_ variables', async () => {
    const dir = await tempDir();
    const hook = join(dir, 'hook.sh');
    await writeFile(
      hook,
      '#!/bin/sh\necho "$1 $2 $3 secret=${CODIUS_ADMIN_TOKEN:-none} other=$OTHER"\n[ "$1" = add ] || { echo "cannot remove" >&2; exit 4; }\n',
    );
    await chmod(hook, 0o755);
    const logs = capturingLogger();
    const publisher = createExecHookPublisher({
      program: hook,
      timeoutMs: 5000,
      logger: logs.logger,
      env: { PATH: process.env.PATH, CODIUS_ADMIN_TOKEN: 'hidden', OTHER: 'kept' },
    });
    await publisher.add('_acme-challenge.codius.test', 'value');
    assert.match(logs.text(), /add _acme-challenge\.codius\.test value secret=none other=kept/);
    await assert.rejects(
      publisher.remove('_acme-challenge.codius.test', 'value'),
      /remove _acme-challenge\.codius\.test exited with 4: .*cannot remove/s,
    );
  });

  it('stops a hook that takes too long, and says when it cannot run at all', async () => {
    const dir = await tempDir();
    const slow = join(dir, 'slow.sh');
    await writeFile(slow, '#!/bin/sh\nexec sleep 5\n');
    await chmod(slow, 0o755);
    const logger = capturingLogger().logger;
    await assert.rejects(
      createExecHookPublisher({ program: slow, timeoutMs: 100, logger, env: {} }).add('n', 'v'),
      /did not finish in 100 ms/,
    );
    await assert.rejects(
      createExecHookPublisher({ program: join(dir, 'missing'), timeoutMs: 100, logger, env: {} }).add(
        'n',
        'v',
      ),
      /could not run/,
    );
  });
});

function get(
  port: number,
  host: string,
  path: string,
): Promise<{ status: number; body: string; location?: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          ...(res.headers.location ? { location: res.headers.location } : {}),
        }),
      );
    })
      .on('error', reject)
      .end();
  });
}

describe('plain-HTTP port', () => {
  it('answers HTTP-01 challenges, redirects the rest to https after the custom domain hook, refuses bad Hosts', async () => {
    const asked: string[] = [];
    const port = await startHttpPort({
      bindIp: '127.0.0.1',
      port: 0,
      httpsPort: 443,
      challenge: (token) => (token === 'known' ? 'known.proof' : undefined),
      beforeRedirect: (name) => Promise.resolve(void asked.push(name)),
      logger: capturingLogger().logger,
    });
    try {
      assert.deepEqual(await get(port.port(), 'codius.test', '/.well-known/acme-challenge/known'), {
        status: 200,
        body: 'known.proof',
      });
      assert.equal((await get(port.port(), 'codius.test', '/.well-known/acme-challenge/other')).status, 404);
      const moved = await get(port.port(), 'App.Example.Test.:80', '/path?q=1');
      assert.equal(moved.status, 308);
      assert.equal(moved.location, 'https://app.example.test/path?q=1');
      assert.deepEqual(asked, ['app.example.test']);
      assert.equal((await get(port.port(), 'evil.test/x', '/')).status, 400);
    } finally {
      await port.stop();
    }
  });

  it('answers 500 when the custom domain hook fails', async () => {
    const port = await startHttpPort({
      bindIp: '127.0.0.1',
      port: 0,
      httpsPort: 8443,
      challenge: () => undefined,
      beforeRedirect: () => Promise.reject(new Error('boom')),
      logger: capturingLogger().logger,
    });
    try {
      assert.equal((await get(port.port(), 'app.example.test', '/')).status, 500);
    } finally {
      await port.stop();
    }
  });
});
