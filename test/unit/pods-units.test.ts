import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { createCapacity } from '../../src/pods/capacity.js';
import { createKeyedMutex } from '../../src/util/keyed-mutex.js';
import { formatFrame, mergeLogSources } from '../../src/pods/log-stream.js';
import { createPrivateVarsCipher } from '../../src/pods/private-vars.js';
import { encodeFrame, StdcopyDemuxer, type LogFrame } from '../../src/runtime/stdcopy.js';

const HASH = 'a'.repeat(52);

async function demux(chunks: Buffer[]): Promise<Array<[number, string]>> {
  const demuxer = new StdcopyDemuxer();
  const frames: Array<[number, string]> = [];
  demuxer.on('data', (frame: LogFrame) => frames.push([frame.stream, frame.payload.toString()]));
  const done = new Promise((resolve) => demuxer.on('end', resolve));
  for (const chunk of chunks) demuxer.write(chunk);
  demuxer.end();
  await done;
  return frames;
}

describe('stdcopy demultiplexing', () => {
  const stream = Buffer.concat([
    encodeFrame(1, 'first line\n'),
    encodeFrame(2, 'an error\n'),
    encodeFrame(1, ''),
    encodeFrame(1, 'x'.repeat(70_000)),
  ]);
  const expected: Array<[number, string]> = [
    [1, 'first line\n'],
    [2, 'an error\n'],
    [1, ''],
    [1, 'x'.repeat(70_000)],
  ];

  it('gives the same frames however the bytes are chunked', async () => {
    assert.deepEqual(await demux([stream]), expected);
    assert.deepEqual(await demux([...stream].map((byte) => Buffer.from([byte]))), expected);
    for (const size of [3, 7, 8, 9, 1000]) {
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < stream.length; offset += size)
        chunks.push(stream.subarray(offset, offset + size));
      assert.deepEqual(await demux(chunks), expected, `chunks of ${size}`);
    }
  });

  it('formats frames as one line per payload line, keeping unknown stream numbers', () => {
    assert.equal(
      formatFrame('web', { stream: 1, payload: Buffer.from('a\nb\n') }),
      'web stdout a\nweb stdout b\n',
    );
    assert.equal(
      formatFrame('web', { stream: 2, payload: Buffer.from('no newline') }),
      'web stderr no newline\n',
    );
    assert.equal(formatFrame('web', { stream: 0, payload: Buffer.from('in\n') }), 'web 0 in\n');
  });
});

describe('merged log streams', () => {
  it('ends after every source ends', async () => {
    const merged = mergeLogSources(
      [
        { container: 'a', frames: Readable.from([encodeFrame(1, 'one\n')]) },
        { container: 'b', frames: Readable.from([encodeFrame(2, 'two\n')]) },
      ],
      { follow: false },
    );
    let text = '';
    for await (const chunk of merged) text += String(chunk);
    assert.deepEqual(text.split('\n').filter(Boolean).sort(), ['a stdout one', 'b stderr two']);
  });

  it('pings while following and, once destroyed, stops pinging and destroys its sources', async () => {
    const source = new PassThrough();
    const merged = mergeLogSources([{ container: 'a', frames: source }], {
      follow: true,
      pingIntervalMs: 10,
    });
    const received: string[] = [];
    merged.on('data', (chunk: Buffer) => received.push(chunk.toString()));
    source.write(encodeFrame(1, 'hello\n'));
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.ok(received.includes('a stdout hello\n'));
    assert.ok(received.filter((c) => c === 'ping\n').length >= 2);
    merged.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(source.destroyed, true);
    const count = received.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(received.length, count, 'no pings after the client left');
  });
});

describe('sealed private vars', () => {
  const secret = randomBytes(32);
  const vars = { TOKEN: { nonce: 'n', value: 'very secret' } };

  it('opens what it sealed, and nothing is readable in the sealed text', () => {
    const cipher = createPrivateVarsCipher(secret);
    const sealed = cipher.seal(HASH, vars);
    assert.ok(!sealed.includes('very secret') && !Buffer.from(sealed).includes('very'));
    assert.deepEqual(cipher.open(HASH, sealed), vars);
    assert.notEqual(cipher.seal(HASH, vars), sealed, 'fresh IV each time');
  });

  it('refuses another manifest, another host secret, or altered bytes', () => {
    const cipher = createPrivateVarsCipher(secret);
    const sealed = cipher.seal(HASH, vars);
    assert.throws(() => cipher.open('b'.repeat(52), sealed), /authentication failed/);
    assert.throws(() => createPrivateVarsCipher(randomBytes(32)).open(HASH, sealed), /authentication failed/);
    const parts = sealed.split('.');
    // Always a different first character (the sealed text starts with 'A' one time in 64).
    const text = parts[2] ?? '';
    parts[2] = `${text.startsWith('A') ? 'B' : 'A'}${text.slice(1)}`;
    assert.throws(() => cipher.open(HASH, parts.join('.')), /cannot be opened/);
    assert.throws(() => cipher.open(HASH, 'v2.x.y.z'), /unknown format/);
  });
});

describe('capacity', () => {
  const GiB = 2 ** 30;
  function capacity(reservedMiB: number, livePods: string[] = []) {
    return createCapacity(
      { totalMemoryBytes: 4 * GiB, maxMemoryFraction: 0.75 },
      {
        usage: () => Promise.resolve({ runningCount: livePods.length, reservedMemoryMiB: reservedMiB }),
        hasLivePod: (hash) => Promise.resolve(livePods.includes(hash)),
      },
    );
  }

  it('admits a new pod while its memory fits in the budget (3 GiB of 4 here)', async () => {
    assert.equal(await capacity(2560).admits(HASH, 512), true);
    assert.equal(await capacity(2561).admits(HASH, 512), false);
    assert.deepEqual(await capacity(1024).snapshot(), {
      totalMemoryBytes: 4 * GiB,
      podMemoryBudgetBytes: 3 * GiB,
      reservedMemoryBytes: GiB,
      freeMemoryBytes: 2 * GiB,
      full: false,
    });
    assert.equal((await capacity(3072).snapshot()).full, true);
  });

  it('always admits an extension of a live pod, even on a full host', async () => {
    assert.equal(await capacity(3072, [HASH]).admits(HASH, 512), true);
  });
});

describe('keyed mutex', () => {
  it('runs work for one key in call order, other keys concurrently, and survives failures', async () => {
    const mutex = createKeyedMutex();
    const events: string[] = [];
    const step = (name: string, ms: number) => async () => {
      events.push(`${name}+`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      events.push(`${name}-`);
      return name;
    };
    const results = await Promise.allSettled([
      mutex.run('k', step('a1', 30)),
      mutex.run('k', () => Promise.reject(new Error('boom'))),
      mutex.run('k', step('a3', 1)),
      mutex.run('other', step('b1', 1)),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.deepEqual(
      events.filter((e) => e.startsWith('a')),
      ['a1+', 'a1-', 'a3+', 'a3-'],
    );
    assert.ok(events.indexOf('b1-') < events.indexOf('a1-'), 'other keys do not wait');
    await mutex.idle();
  });
});
