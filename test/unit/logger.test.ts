import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { censorSecrets, createLogger } from '../../src/logger.js';

function capture(): { lines: () => Array<Record<string, unknown>>; sink: Writable } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { sink, lines: () => chunks.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('secrets in log lines', () => {
  it('censors secret keys at the top and one level down, and credential headers', () => {
    const { sink, lines } = capture();
    const logger = createLogger('info', sink);
    logger.info(
      {
        secret: 'host secret',
        hostSecret: 'hex',
        pod: { privateVars: { TOKEN: 'x' }, name: 'kept' },
        config: { credentials: { password: 'p' } },
        headers: { authorization: 'Bearer t', 'pay-token': 'tok', host: 'h' },
        request: { headers: { authorization: 'Basic b' } },
      },
      'line',
    );
    logger.child({ private: 'bound' }).info('child');
    const [first = {}, second = {}] = lines();
    assert.equal(first.secret, '[redacted]');
    assert.equal(first.hostSecret, '[redacted]');
    assert.deepEqual(first.pod, { privateVars: '[redacted]', name: 'kept' });
    assert.deepEqual(first.config, { credentials: '[redacted]' });
    assert.deepEqual(first.headers, { authorization: '[redacted]', 'pay-token': '[redacted]', host: 'h' });
    assert.deepEqual(first.request, { headers: { authorization: '[redacted]' } });
    assert.equal(second.private, '[redacted]');
  });

  it('leaves lines without secrets as they are, without copying them', () => {
    const line = { method: 'GET', path: '/version', status: 200, nested: { a: 1 } };
    assert.equal(censorSecrets(line), line);
    const original = { secret: 's', other: 1 };
    assert.deepEqual(censorSecrets(original), { secret: '[redacted]', other: 1 });
    assert.equal(original.secret, 's', 'the logged object itself is not changed');
  });
});
