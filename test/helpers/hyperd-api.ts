import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after } from 'node:test';
import { encodeFrame } from '../../src/runtime/stdcopy.js';
import { tempDir } from './tmp.js';

/** A request the fake hyperd received. */
export interface HyperdCall {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

interface FakePod {
  spec: { id: string; containers: Array<{ name: string; image: string }> };
  status: 'pending' | 'running' | 'failed';
  ip: string;
}

/**
 * A stand-in for hyperd speaking the documented subset of its HTTP API on a unix socket:
 * status codes, plain-text Go errors, `podData` strings, streamed pull progress and stdcopy log frames.
 * hyperd itself cannot run on these machines.
 */
export interface FakeHyperd {
  socketPath: string;
  calls: HyperdCall[];
  /** Images hyperd has locally; pod/create fails when one is missing. */
  localImages: Set<string>;
  /** Images a pull can fetch. */
  registryImages: Set<string>;
  pods: Map<string, FakePod>;
  /** Extra `podData` entries returned by /list (e.g. pods of other tools, odd states). */
  extraListEntries: string[];
  /** Log frames per container id, sent in deliberately awkward chunks. */
  logs: Map<string, Buffer>;
}

/** Writes a Go `http.Error`-style reply; returns true so handlers can `return` it. */
function goError(res: ServerResponse, status: number, message: string): true {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${message}\n`);
  return true;
}

function json(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
  return true;
}

export async function startFakeHyperd(): Promise<FakeHyperd> {
  const socketPath = join(await tempDir('codiusd-hyperd-'), 'hyper.sock');
  const state: FakeHyperd = {
    socketPath,
    calls: [],
    localImages: new Set(),
    registryImages: new Set(),
    pods: new Map(),
    extraListEntries: [],
    logs: new Map(),
  };
  let nextIp = 2;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<true> {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    state.calls.push({
      method: req.method ?? '',
      url: req.url ?? '',
      contentType: req.headers['content-type'],
      body,
    });
    const url = new URL(req.url ?? '/', 'http://hyperd');
    const route = `${req.method ?? ''} ${url.pathname}`;
    switch (route) {
      case 'POST /pod/create': {
        if (req.headers['content-type'] !== 'application/json')
          return goError(res, 400, 'Content-Type specified');
        const spec = JSON.parse(body) as FakePod['spec'];
        const missing = spec.containers.find((c) => !state.localImages.has(c.image));
        if (missing) return json(res, 201, { ID: '', Code: 1, Cause: `image ${missing.image} not found` });
        state.pods.set(spec.id, { spec, status: 'pending', ip: `192.168.123.${nextIp++}` });
        return json(res, 201, { ID: spec.id, Code: 0, Cause: '' });
      }
      case 'POST /image/create': {
        const image = url.searchParams.get('imageName') ?? '';
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(JSON.stringify({ status: `Pulling ${image}` }));
        if (state.registryImages.has(image)) {
          state.localImages.add(image);
          res.end(JSON.stringify({ status: 'Download complete' }));
        } else {
          // As hyperd: once streaming started, errors are in the body of a 200.
          res.end(
            JSON.stringify({ errorDetail: { message: 'manifest unknown' }, error: 'manifest unknown' }),
          );
        }
        return true;
      }
      case 'POST /pod/start': {
        const pod = state.pods.get(url.searchParams.get('podId') ?? '');
        if (!pod) return goError(res, 500, `Can not find that Pod(${url.searchParams.get('podId') ?? ''})`);
        pod.status = 'running';
        return json(res, 200, {});
      }
      case 'GET /pod/info': {
        const id = url.searchParams.get('podName') ?? '';
        const pod = state.pods.get(id);
        if (!pod) return goError(res, 500, `Can not get Pod info with pod ID(${id})`);
        return json(res, 200, {
          podID: id,
          podName: id,
          spec: {
            containers: pod.spec.containers.map((c, i) => ({
              name: `/${c.name}`,
              containerID: `${id.slice(0, 8)}-c${i}`,
            })),
          },
          status: { phase: pod.status === 'running' ? 'Running' : 'Pending', podIP: [`${pod.ip}/24`] },
        });
      }
      case 'GET /list': {
        if (url.searchParams.get('item') !== 'pod') return goError(res, 400, 'bad parameter');
        const podData = [
          ...state.extraListEntries,
          ...[...state.pods.entries()].map(([id, pod]) => `${id}:${id}:vm-${id.slice(0, 6)}:${pod.status}`),
        ];
        return json(res, 201, { item: 'pod', podData });
      }
      case 'DELETE /pod': {
        const id = url.searchParams.get('podId') ?? '';
        if (!state.pods.delete(id)) return goError(res, 500, `Can not find that Pod(${id})`);
        return json(res, 200, { ID: id, Code: 0, Cause: '' });
      }
      case 'GET /container/logs': {
        const frames = state.logs.get(url.searchParams.get('container') ?? '');
        if (!frames) return goError(res, 404, 'no such container');
        res.writeHead(200, { 'content-type': 'application/vnd.docker.raw-stream' });
        res.flushHeaders();
        // Three bytes at a time: headers and payloads split across chunks.
        for (let offset = 0; offset < frames.length; offset += 3) {
          res.write(frames.subarray(offset, offset + 3));
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (url.searchParams.get('follow') !== 'true') res.end();
        return true;
      }
      default:
        return goError(res, 404, `404 page not found`);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      goError(res, 500, String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return state;
}

export { encodeFrame };
