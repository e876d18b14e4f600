import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RuntimeApiError, RuntimeUnavailableError } from '../../src/runtime/errors.js';
import { createUnixHttpClient } from '../../src/runtime/unix-http.js';
import { tempDir } from '../helpers/tmp.js';

/** An HTTP server on a unix socket of the test's own: `/stream` never ends, `/hang` never answers. */
async function startSocketServer(): Promise<{ socketPath: string; openStreams: () => number }> {
  const socketPath = join(await tempDir(), 'api.sock');
  const streams = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    if (req.url === '/stream') {
      streams.add(res);
      res.once('close', () => streams.delete(res));
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write('first chunk');
      return;
    }
    if (req.url === '/hang') return;
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ method: req.method, url: req.url, body, type: req.headers['content-type'] ?? null }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { socketPath, openStreams: () => streams.size };
}

describe('runtime HTTP client on a unix socket', () => {
  it('sends JSON and reads the whole answer', async () => {
    const { socketPath } = await startSocketServer();
    const client = createUnixHttpClient(socketPath);
    after(() => client.close());
    const response = await client.request({ method: 'POST', path: '/pods/create?x=1', json: { a: 1 } });
    assert.equal(response.status, 200);
    assert.deepEqual(JSON.parse(response.body.toString()), {
      method: 'POST',
      url: '/pods/create?x=1',
      body: '{"a":1}',
      type: 'application/json',
    });
  });

  it('bounds every control call by its deadline, even when the server never answers', async () => {
    const { socketPath } = await startSocketServer();
    const client = createUnixHttpClient(socketPath);
    after(() => client.close());
    const started = Date.now();
    await assert.rejects(
      client.request({ method: 'GET', path: '/hang', timeoutMs: 200 }),
      (error: unknown) => {
        assert.ok(error instanceof RuntimeApiError);
        assert.match(error.message, /GET \/hang timed out after 200 ms/);
        return true;
      },
    );
    assert.ok(Date.now() - started < 5_000);
  });

  it('never lets streams take the connections control calls need', async () => {
    const { socketPath, openStreams } = await startSocketServer();
    const client = createUnixHttpClient(socketPath);
    after(() => client.close());
    const aborts = new AbortController();
    const streams = await Promise.all(
      Array.from({ length: 40 }, () =>
        client.stream({ method: 'GET', path: '/stream', signal: aborts.signal }),
      ),
    );
    assert.equal(openStreams(), 40);
    for (const stream of streams) stream.body.on('error', () => undefined);
    // With 40 followers open, a control call still gets a connection at once.
    const response = await client.request({ method: 'GET', path: '/ping', timeoutMs: 2_000 });
    assert.equal(response.status, 200);
    aborts.abort();
  });

  it('calls a missing socket unavailable', async () => {
    const client = createUnixHttpClient(join(await tempDir(), 'nothing.sock'));
    after(() => client.close());
    await assert.rejects(client.request({ method: 'GET', path: '/_ping' }), RuntimeUnavailableError);
    await assert.rejects(client.stream({ method: 'GET', path: '/logs' }), RuntimeUnavailableError);
  });

  it('aborts a control call when the caller does', async () => {
    const { socketPath } = await startSocketServer();
    const client = createUnixHttpClient(socketPath);
    after(() => client.close());
    const abort = new AbortController();
    const pending = client.request({ method: 'GET', path: '/hang', signal: abort.signal });
    abort.abort(new Error('caller gave up'));
    await assert.rejects(pending, /caller gave up/);
  });
});
