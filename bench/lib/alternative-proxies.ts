import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import { downstreamResponseHeaders, upstreamRequestHeaders } from '../../src/proxy/headers.js';

/**
 * The engines codiusd's proxy was measured against before undici was chosen, each a minimal forwarder to
 * one pod with the same header work. They exist only for `npm run bench:proxy -- --engines`.
 */
export interface AlternativeProxy {
  label: string;
  url: string;
  close(): Promise<void>;
}

/** Serves `handler` on a loopback port over one keep-alive agent to the pod, as each engine needs. */
async function serve(
  label: string,
  handler: (agent: Agent) => (req: IncomingMessage, res: ServerResponse) => void,
): Promise<AlternativeProxy> {
  const agent = new Agent({ keepAlive: true, maxSockets: 128, scheduling: 'lifo', timeout: 4000 });
  const server = createServer(handler(agent));
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    label,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: async () => {
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const origin = {
  clientAddress: '127.0.0.1',
  trusted: false,
  defaultTrustedProto: 'https',
  proto: 'http',
} as const;

/** node:http server + http.request over a keep-alive Agent, streams piped. */
export function agentProxy(podHost: string, podPort: number): Promise<AlternativeProxy> {
  return serve('node:http Agent proxy', (agent) => (req, res) => {
    const { headers } = upstreamRequestHeaders(req.rawHeaders, origin);
    const upstream = request(
      { host: podHost, port: podPort, method: req.method, path: req.url, headers, agent },
      (podRes) => {
        res.writeHead(podRes.statusCode ?? 502, downstreamResponseHeaders(podRes.rawHeaders));
        podRes.pipe(res);
      },
    );
    upstream.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
}

/** http-proxy-3, the maintained successor of http-proxy (the proxy Codius hosts have used since 2018). */
export function httpProxy3(podHost: string, podPort: number): Promise<AlternativeProxy> {
  return serve('http-proxy-3', (agent) => {
    const proxy = createProxyServer({ target: `http://${podHost}:${podPort}`, agent, xfwd: true });
    return (req, res) => {
      proxy.web(req, res, {}, () => {
        res.writeHead(502);
        res.end();
      });
    };
  });
}
