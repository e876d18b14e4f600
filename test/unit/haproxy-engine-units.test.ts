import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ManifestHash, PodRecord } from '../../src/domain/types.js';
import { createLogger } from '../../src/logger.js';
import { parseProxyHeader } from '../../src/net/proxy-protocol.js';
import { renderHaproxyConfig } from '../../src/proxy/haproxy/config-file.js';
import { haproxyThreads } from '../../src/proxy/haproxy/engine.js';
import { createRouteMap } from '../../src/proxy/haproxy/route-map.js';
import type { HaproxyRuntimeApi } from '../../src/proxy/haproxy/runtime-api.js';

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

function v2Header(
  command: number,
  family: number,
  addresses: Buffer,
  tlvs: Buffer = Buffer.alloc(0),
): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(addresses.length + tlvs.length);
  return Buffer.concat([SIGNATURE, Buffer.from([0x20 | command, family]), length, addresses, tlvs]);
}

describe('PROXY protocol v2 header', () => {
  const ipv4 = Buffer.from([203, 0, 113, 9, 127, 0, 0, 1, 0x30, 0x39, 0x01, 0xbb]);
  it('gives the client address and port, and the rest of the bytes untouched', () => {
    const header = v2Header(1, 0x11, ipv4);
    const parsed = parseProxyHeader(Buffer.concat([header, Buffer.from('GET / HTTP/1.1\r\n')]));
    assert.deepEqual(parsed, {
      header: { source: { address: '203.0.113.9', port: 12345, family: 'IPv4' }, tls: false },
      length: header.length,
    });
  });

  it('reads IPv6 in canonical form and the TLS bit of the SSL TLV', () => {
    const v6 = Buffer.alloc(36);
    Buffer.from('20010db8000000000000000000000042', 'hex').copy(v6, 0);
    v6.writeUInt16BE(443, 32);
    const ssl = Buffer.from([0x20, 0x00, 0x05, 0x01, 0, 0, 0, 0]);
    const parsed = parseProxyHeader(v2Header(1, 0x21, v6, ssl));
    assert.deepEqual(parsed?.header, {
      source: { address: '2001:db8::42', port: 443, family: 'IPv6' },
      tls: true,
    });
  });

  it('waits for a header that is not complete, and refuses anything else', () => {
    const header = v2Header(1, 0x11, ipv4);
    assert.equal(parseProxyHeader(header.subarray(0, 5)), null);
    assert.equal(parseProxyHeader(header.subarray(0, 20)), null);
    assert.throws(
      () => parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')),
      /not a PROXY protocol v2 header/,
    );
    assert.throws(() => parseProxyHeader(Buffer.from('GET')), /not a PROXY protocol v2 header/);
    const v1 = Buffer.from(header);
    v1[12] = 0x11;
    assert.throws(() => parseProxyHeader(v1), /unsupported PROXY protocol version/);
    assert.throws(() => parseProxyHeader(v2Header(1, 0x00, Buffer.alloc(0))), /without a usable address/);
  });

  it('takes LOCAL connections (the proxy’s own) without an address', () => {
    assert.deepEqual(parseProxyHeader(v2Header(0, 0x00, Buffer.alloc(0)))?.header, { tls: false });
  });
});

const HASH: ManifestHash = 'a'.repeat(52);
const OTHER: ManifestHash = 'b'.repeat(52);

function record(hash: ManifestHash, patch: Partial<PodRecord>): PodRecord {
  return {
    hash,
    state: 'running',
    ip: '10.89.240.5',
    port: 3000,
    expiresAt: Date.now() + 60_000,
    ...patch,
  } as PodRecord;
}

/** A runtime API that keeps a map as HAProxy does, and can be made to fail. */
function fakeApi(): HaproxyRuntimeApi & { map: Map<string, string>; sent: string[]; failNext: boolean } {
  const state = { map: new Map<string, string>(), sent: [] as string[], failNext: false };
  let prepared: Map<string, string> | undefined;
  return Object.assign(state, {
    send(command: string): Promise<string> {
      state.sent.push(command);
      if (state.failNext) {
        state.failNext = false;
        return Promise.reject(new Error('connect ENOENT'));
      }
      const [line = '', payload] = command.split(' <<\n');
      const [verb = '', , ...rest] = line.split(' ');
      const args = rest[0]?.startsWith('@') ? rest.slice(2) : rest.slice(1);
      if (payload !== undefined && verb === 'add') {
        const into = rest[0]?.startsWith('@') ? prepared : state.map;
        // HAProxy reads a command and its payload into one 16 KiB buffer.
        if (command.length >= 16_384) return Promise.resolve('Command line too long.\n');
        for (const entry of payload.split('\n').filter(Boolean)) {
          const [key = '', value = ''] = entry.split(' ');
          into?.set(key, value);
        }
        return Promise.resolve('');
      }
      if (command.startsWith('prepare map')) {
        prepared = new Map();
        return Promise.resolve('New version created: 7\n');
      }
      if (command.startsWith('commit map')) {
        state.map = prepared ?? state.map;
        return Promise.resolve('');
      }
      const target = rest[0]?.startsWith('@') ? prepared : state.map;
      const [key = '', value = ''] = args;
      if (verb === 'add') target?.set(key, value);
      if (verb === 'set') {
        if (!target?.has(key)) return Promise.resolve('entry not found.\n');
        target.set(key, value);
      }
      if (verb === 'del') target?.delete(key);
      return Promise.resolve('');
    },
  });
}

describe('HAProxy route map', () => {
  const logger = createLogger('silent');
  const routeMapOver = (records: Map<ManifestHash, PodRecord>) =>
    createRouteMap({ mapPath: '/m', publicHostname: 'codius.test', lookup: (h) => records.get(h), logger });

  it('routes running pods with a port and time left, and follows every change', async () => {
    const records = new Map<ManifestHash, PodRecord>([[HASH, record(HASH, {})]]);
    const routes = routeMapOver(records);
    routes.refresh(HASH);
    assert.equal(routes.fileText(), `${HASH}.codius.test 10.89.240.5/3000\n`);
    const api = fakeApi();
    await routes.attach(api);
    assert.deepEqual([...api.map], [[`${HASH}.codius.test`, '10.89.240.5/3000']]);

    records.set(HASH, record(HASH, { ip: '10.89.240.9' }));
    routes.refresh(HASH);
    records.set(OTHER, record(OTHER, { state: 'starting', ip: null }));
    routes.refresh(OTHER);
    await routes.settled();
    assert.equal(api.map.get(`${HASH}.codius.test`), '10.89.240.9/3000');
    assert.equal(api.map.has(`${OTHER}.codius.test`), false, 'not running: codiusd answers');
    assert.ok(api.sent.includes(`set map /m ${HASH}.codius.test 10.89.240.9/3000`));

    records.set(OTHER, record(OTHER, { port: null }));
    routes.refresh(OTHER);
    records.delete(HASH);
    routes.refresh(HASH);
    await routes.settled();
    assert.equal(api.map.size, 0);
    assert.equal(routes.size(), 0);
    routes.close();
  });

  it('adds many routes in payloads that fit HAProxy’s buffer, live and when replacing the map', async () => {
    const hashes = Array.from({ length: 1_000 }, (_, i) => `${String(i).padStart(4, '0')}${HASH.slice(4)}`);
    const records = new Map(hashes.map((hash) => [hash, record(hash, {})]));
    const routes = routeMapOver(records);
    const api = fakeApi();
    await routes.attach(api);
    routes.refreshAll(hashes);
    await routes.settled();
    assert.equal(api.map.size, 1_000);
    assert.equal(routes.size(), 1_000);
    const adds = api.sent.filter((command) => command.startsWith('add map /m <<'));
    assert.ok(adds.length >= 2 && adds.length <= 10, `${String(adds.length)} commands for 1,000 routes`);
    for (const command of api.sent) assert.ok(command.length < 16_384);

    api.sent.length = 0;
    routes.detach();
    await routes.attach(api);
    assert.equal(api.map.size, 1_000, 'a restarted HAProxy gets every route back');
    assert.ok(api.sent.length <= 12, `${String(api.sent.length)} commands to replace 1,000 routes`);
    routes.close();
  });

  it('removes a route the moment its pod’s time is up', async () => {
    const records = new Map([[HASH, record(HASH, { expiresAt: Date.now() + 150 })]]);
    const routes = routeMapOver(records);
    const api = fakeApi();
    await routes.attach(api);
    routes.refresh(HASH);
    await routes.settled();
    assert.equal(api.map.size, 1);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await routes.settled();
    assert.equal(api.map.size, 0);
    routes.close();
  });

  it('replaces the whole map after a change fails, and changes nothing while detached', async () => {
    const records = new Map([[HASH, record(HASH, {})]]);
    const routes = routeMapOver(records);
    const api = fakeApi();
    await routes.attach(api);
    api.failNext = true;
    routes.refresh(HASH);
    await routes.settled();
    assert.deepEqual([...api.map], [[`${HASH}.codius.test`, '10.89.240.5/3000']]);
    assert.ok(api.sent.some((command) => command.startsWith('commit map @7 /m')));

    routes.detach();
    records.delete(HASH);
    routes.refresh(HASH);
    await routes.settled();
    assert.equal(api.map.size, 1, 'HAProxy is not spoken to while detached');
    assert.equal(routes.fileText(), '', 'but the next start loads what is wanted');
    await routes.attach(api);
    assert.equal(api.map.size, 0);
    routes.close();
  });
});

describe('HAProxy configuration', () => {
  const paths = {
    config: '/d/c',
    routes: '/d/r.map',
    socket: '/d/s',
    lua: '/d/l.lua',
    tlsBundle: null,
    crtList: null,
  };
  const settings = {
    bindIp: '0.0.0.0',
    port: 443,
    codiusd: { host: '127.0.0.1', port: 40000 },
    trustedProxies: [],
    publicProto: 'https' as const,
    timeoutMs: 300_000,
    maxConnectionsPerPod: 128,
    maxConnections: 16_384,
    shutdownTimeoutMs: 10_000,
    threads: 3,
    paths,
  };

  /** The lines of one section of the configuration, up to the blank line that ends it. */
  const section = (text: string, header: string): string => {
    const start = text.indexOf(`\n${header}\n`);
    assert.ok(start !== -1, `no section ${header}`);
    return text.slice(start + 1, text.indexOf('\n\n', start + 1));
  };

  it('bounds each pod and each client as codiusd’s own proxy does', () => {
    const text = renderHaproxyConfig(settings);
    const requests = section(text, 'backend pods');
    assert.match(requests, /track-sc0 var\(txn\.podhost\) table requests_in_flight\n/);
    assert.match(
      requests,
      /track-sc1 src,ipmask\(32,64\),concat\(' ',txn\.podhost\) table requests_in_flight\n/,
    );
    assert.match(requests, /if \{ sc0_conn_cur gt 256 \}/);
    assert.match(requests, /if \{ sc1_conn_cur gt 64 \}/);
    const sockets = section(text, 'backend pod_sockets');
    assert.match(sockets, /track-sc0 var\(txn\.podhost\) table open_sockets\n/);
    assert.match(sockets, /if \{ sc0_conn_cur gt 128 \}/);
    assert.match(sockets, /if \{ sc1_conn_cur gt 32 \}/);
    assert.match(text, /acl from_trusted always_false/);
    assert.match(text, /server codiusd 127\.0\.0\.1:40000 send-proxy-v2-ssl/);
    assert.match(text, /timeout server 300000ms/);
    assert.doesNotMatch(text, / ssl crt /);
  });

  it('adds X-Forwarded-For in the pods’ backends only: codiusd gets requests as they came', () => {
    const text = renderHaproxyConfig(settings);
    assert.match(section(text, 'backend pods'), /option forwardfor if-none/);
    assert.match(section(text, 'backend pod_sockets'), /option forwardfor if-none/);
    assert.doesNotMatch(section(text, 'defaults'), /forwardfor/);
    assert.doesNotMatch(section(text, 'frontend public'), /forwardfor/);
    assert.doesNotMatch(section(text, 'backend codiusd'), /forwardfor|http-request/);
    // Without trusted proxies every client claim goes, in the same pass as the hop-by-hop headers.
    assert.match(
      section(text, 'backend pods'),
      /del-header \^\(\?:keep-alive\|[^ ]*\|upgrade\|forwarded\|x-real-ip\|x-forwarded-for\|x-forwarded-proto\|x-forwarded-host\)\$ -m reg\n/,
    );
  });

  it('terminates TLS with the bundle, binds IPv6 literally and trusts the listed proxies', () => {
    const text = renderHaproxyConfig({
      ...settings,
      bindIp: '::',
      trustedProxies: [
        { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
        { address: '::1', prefix: 128, family: 'ipv6' },
      ],
      paths: { ...paths, tlsBundle: '/d/tls.pem', crtList: '/d/certificates.list' },
    });
    assert.match(text, /bind \[::\]:443 ssl crt-list \/d\/certificates\.list alpn h2,http\/1\.1/);
    assert.match(text, /acl from_trusted src 10\.0\.0\.0\/8 ::1\/128/);
    assert.match(text, /x-forwarded-proto %\[ssl_fc,iif\(https,http\)\] unless from_trusted/);
    assert.match(text, /track-sc1 var\(txn\.client\),concat\(' ',txn\.podhost\) table requests_in_flight/);
    // The client behind the proxies: four X-Forwarded-For entries walked here, a longer chain by codiusd.
    assert.match(
      text,
      /set-var\(txn\.hop4\) req\.hdr_ip\(x-forwarded-for,-4\) if !to_codiusd \{ var\(txn\.hop3\) -m ip 10\.0\.0\.0\/8 ::1\/128 \}/,
    );
    assert.match(
      text,
      /to_codiusd\) bool\(true\) if \{ var\(txn\.hop4\) -m ip [^}]+\} \{ req\.hdr\(x-forwarded-for,-5\) -m found \}/,
    );
  });

  it('runs one thread fewer than the cores, at least one', () => {
    assert.match(renderHaproxyConfig(settings), /^global\n {2}nbthread 3\n/);
    assert.deepEqual(
      [1, 2, 8].map((cores) => haproxyThreads(cores)),
      [1, 1, 7],
    );
  });

  it('keeps the per-request work to header rules: no traffic log, Lua only for named headers', () => {
    const text = renderHaproxyConfig(settings);
    assert.match(section(text, 'defaults'), /^ {2}no log$/m);
    const lua = section(text, 'backend pods')
      .split('\n')
      .find((line) => line.includes('lua.drop_named_hop_by_hop'));
    const condition = /-m reg -i (\S+) \}/.exec(lua ?? '')?.[1];
    assert.ok(condition, 'the Lua action runs under a regex on the Connection values');
    // HAProxy splits the header into values and runs the regex on each, trimmed.
    const named = new RegExp(condition, 'i');
    assert.deepEqual(
      ['keep-alive', 'Keep-Alive', 'close', 'upgrade', 'x-pod-private', 'keep-alive-x'].map((v) =>
        named.test(v),
      ),
      [false, false, false, false, true, true],
    );
  });

  it('trusts no X-Forwarded-For entry when no proxy is trusted', () => {
    assert.doesNotMatch(renderHaproxyConfig(settings), /txn\.hop/);
  });
});
