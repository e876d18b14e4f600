import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createAddressMatcher, parseAddressList } from '../../src/net/address-list.js';
import {
  downstreamResponseHeaders,
  FramingError,
  upstreamRequestHeaders,
  type RequestOrigin,
} from '../../src/proxy/headers.js';
import { createPodHostMatcher } from '../../src/proxy/pod-host.js';

const HASH = 'r7cdiwyq5hhlqhtnjpqbdbbgebxwdpzcpkyljh5foy5cvhlnqdoq';

describe('pod hostnames', () => {
  const podHashOf = createPodHostMatcher('https://Codius.Example.com:8443');

  it('matches <hash>.<public hostname>, in any case, ignoring the port and a trailing dot', () => {
    for (const host of [
      `${HASH}.codius.example.com`,
      `${HASH.toUpperCase()}.CODIUS.example.COM`,
      `${HASH}.codius.example.com:3000`,
      `${HASH}.codius.example.com.`,
      `${HASH}.codius.example.com.:443`,
    ]) {
      assert.equal(podHashOf(host), HASH, host);
    }
  });

  it('rejects everything else', () => {
    for (const host of [
      undefined,
      '',
      'codius.example.com',
      `${HASH}.codius.example.org`,
      `${HASH}.codius.example.com.evil.example`,
      `${HASH}xcodius.example.com`,
      `a.${HASH}.codius.example.com`,
      `${HASH.slice(1)}.codius.example.com`,
      `${HASH.slice(1)}1.codius.example.com`,
      `${HASH.slice(1)}-.codius.example.com`,
      `[::1]:3000`,
      `${HASH}.codius.example.com..`,
    ]) {
      assert.equal(podHashOf(host), null, String(host));
    }
  });
});

describe('proxied request headers', () => {
  const direct: RequestOrigin = {
    clientAddress: '198.51.100.7',
    trusted: false,
    defaultTrustedProto: 'https',
    proto: 'http',
  };
  const viaProxy: RequestOrigin = { ...direct, clientAddress: '127.0.0.1', trusted: true };
  const pairs = (headers: string[]): string[][] => {
    const out: string[][] = [];
    for (let i = 0; i < headers.length; i += 2) out.push([headers[i] ?? '', headers[i + 1] ?? '']);
    return out;
  };

  it('drops hop-by-hop headers, those named by Connection, and Expect; keeps repeats and Host', () => {
    const { headers, hasBody } = upstreamRequestHeaders(
      [
        'Host',
        'pod.example',
        'Connection',
        'keep-alive, X-Private, close',
        'X-Private',
        'hop',
        'Keep-Alive',
        'timeout=5',
        'TE',
        'trailers',
        'Upgrade',
        'h2c',
        'Proxy-Authorization',
        'Basic x',
        'Expect',
        '100-continue',
        'Accept',
        'a',
        'Accept',
        'b',
      ],
      direct,
    );
    assert.equal(hasBody, false);
    assert.deepEqual(pairs(headers), [
      ['Host', 'pod.example'],
      ['Accept', 'a'],
      ['Accept', 'b'],
      ['X-Forwarded-For', '198.51.100.7'],
      ['X-Forwarded-Proto', 'http'],
      ['X-Forwarded-Host', 'pod.example'],
    ]);
  });

  it('keeps Upgrade for upgrades and asks for it with Connection: Upgrade', () => {
    const { headers } = upstreamRequestHeaders(
      ['Host', 'h', 'Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'],
      direct,
      true,
    );
    assert.deepEqual(pairs(headers).slice(0, 4), [
      ['Host', 'h'],
      ['Upgrade', 'websocket'],
      ['Sec-WebSocket-Key', 'k'],
      ['Connection', 'Upgrade'],
    ]);
  });

  it('believes X-Forwarded-*, Forwarded and X-Real-IP only from a trusted peer', () => {
    const incoming = [
      'Host',
      'h',
      'X-Forwarded-For',
      '203.0.113.1',
      'X-Forwarded-For',
      '10.0.0.1',
      'X-Forwarded-Proto',
      'https',
      'X-Forwarded-Host',
      'public.example',
      'Forwarded',
      'for=6.6.6.6',
      'X-Real-IP',
      '6.6.6.6',
    ];
    assert.deepEqual(pairs(upstreamRequestHeaders(incoming, direct).headers), [
      ['Host', 'h'],
      ['X-Forwarded-For', '198.51.100.7'],
      ['X-Forwarded-Proto', 'http'],
      ['X-Forwarded-Host', 'h'],
    ]);
    assert.deepEqual(pairs(upstreamRequestHeaders(incoming, viaProxy).headers), [
      ['Host', 'h'],
      ['Forwarded', 'for=6.6.6.6'],
      ['X-Real-IP', '6.6.6.6'],
      ['X-Forwarded-For', '203.0.113.1, 10.0.0.1, 127.0.0.1'],
      ['X-Forwarded-Proto', 'https'],
      ['X-Forwarded-Host', 'public.example'],
    ]);
    // A trusted proxy that says nothing about the scheme: the public URI's.
    assert.deepEqual(pairs(upstreamRequestHeaders(['Host', 'h'], viaProxy).headers).slice(1), [
      ['X-Forwarded-For', '127.0.0.1'],
      ['X-Forwarded-Proto', 'https'],
      ['X-Forwarded-Host', 'h'],
    ]);
  });

  it('knows when a body follows', () => {
    assert.equal(upstreamRequestHeaders(['Content-Length', '0'], direct).hasBody, false);
    assert.equal(upstreamRequestHeaders(['Content-Length', '12'], direct).hasBody, true);
    assert.equal(upstreamRequestHeaders(['Transfer-Encoding', 'Chunked'], direct).hasBody, true);
  });

  it('refuses ambiguous framing', () => {
    for (const raw of [
      ['Content-Length', '4', 'Transfer-Encoding', 'chunked'],
      ['Transfer-Encoding', 'chunked', 'Content-Length', '4'],
      ['Content-Length', '4', 'Content-Length', '4'],
      ['Content-Length', '4', 'content-length', '5'],
      ['Content-Length', '-1'],
      ['Content-Length', '0x10'],
      ['Content-Length', '1 2'],
      ['Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked'],
      ['Transfer-Encoding', 'gzip, chunked'],
      ['Transfer-Encoding', 'identity'],
    ]) {
      assert.throws(() => upstreamRequestHeaders(raw, direct), FramingError, raw.join(' '));
    }
  });
});

describe('proxied response headers', () => {
  it('drops hop-by-hop headers and those the pod’s Connection names, keeps the rest in order', () => {
    const raw = [
      'Content-Type',
      'text/plain',
      'Connection',
      'keep-alive, X-Pod-Private',
      'Keep-Alive',
      'timeout=5',
      'Transfer-Encoding',
      'chunked',
      'Set-Cookie',
      'a=1',
      'X-Pod-Private',
      'x',
      'Set-Cookie',
      'b=2',
    ].map((value) => Buffer.from(value, 'latin1'));
    assert.deepEqual(downstreamResponseHeaders(raw), [
      'Content-Type',
      'text/plain',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
    ]);
  });

  it('keeps latin1 header bytes as they are', () => {
    const raw = [Buffer.from('X-Name'), Buffer.from([0x63, 0x61, 0x66, 0xe9])];
    assert.deepEqual(downstreamResponseHeaders(raw), ['X-Name', 'caf\u00e9']);
  });
});

describe('trusted proxy lists', () => {
  it('parses addresses and subnets, IPv4 and IPv6, and "none"', () => {
    assert.deepEqual(parseAddressList('none'), []);
    assert.deepEqual(parseAddressList(' 10.0.0.0/8 ,::1, fd00::/8'), [
      { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
      { address: '::1', prefix: 128, family: 'ipv6' },
      { address: 'fd00::', prefix: 8, family: 'ipv6' },
    ]);
    for (const bad of ['', 'localhost', '10.0.0.1/33', '::1/129', '10.0.0.1/8/1', '10.0.0.1,', '1.2.3.4/x']) {
      assert.equal(parseAddressList(bad), null, bad);
    }
  });

  it('matches members, including IPv4 clients seen as IPv4-mapped IPv6', () => {
    const trusted = createAddressMatcher(parseAddressList('10.0.0.0/8, 127.0.0.1, fd00::/8') ?? []);
    assert.equal(trusted('10.20.30.40'), true);
    assert.equal(trusted('::ffff:10.20.30.40'), true);
    assert.equal(trusted('127.0.0.1'), true);
    assert.equal(trusted('127.0.0.2'), false);
    assert.equal(trusted('fd12::1'), true);
    assert.equal(trusted('fe80::1'), false);
    assert.equal(trusted('11.0.0.1'), false);
    assert.equal(trusted('11.0.0.1'), false, 'the remembered answer is the same');
    assert.equal(trusted(undefined), false);
    assert.equal(createAddressMatcher([])('127.0.0.1'), false);
  });
});
