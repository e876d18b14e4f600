import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type tls from 'node:tls';
import { formatDoctorReport, runDoctor } from '../../src/doctor/doctor.js';
import type { DoctorProbes } from '../../src/doctor/probes.js';

const HASH = 'a'.repeat(51) + 'q';
const ROOT = '/var/lib/codius';
const SECRET = Buffer.alloc(32, 7).toString('base64');
const GIB = 1024 ** 3;
const ENV = {
  CODIUS_PUBLIC_URI: 'https://codius.example.com',
  CODIUS_ROOT: ROOT,
  CODIUS_OCI_RUNTIME: 'runsc',
  CODIUS_OPEN_PAYMENTS_WALLET: 'https://wallet.example/codius-host',
  CODIUS_OPEN_PAYMENTS_KEY_ID: 'key-1',
  CODIUS_OPEN_PAYMENTS_PRIVATE_KEY: '/etc/codiusd/open-payments.pem',
  CODIUS_PROXY_ENGINE: 'haproxy',
};

function cert(names: string, validTo = new Date(Date.now() + 60 * 86_400_000)): tls.PeerCertificate {
  return {
    subject: { CN: 'codius.example.com' },
    subjectaltname: names,
    valid_to: validTo.toUTCString(),
  } as unknown as tls.PeerCertificate;
}

const NETWORK = {
  network_interface: 'codius0',
  subnets: [{ subnet: '10.89.240.0/20', gateway: '10.89.240.1' }],
};

/** A healthy production host, as the probes would see it; each test breaks one thing. */
function healthy(): DoctorProbes {
  return {
    stat: (path) =>
      Promise.resolve(
        path === ROOT
          ? { isDirectory: true, mode: 0o700, size: 4096 }
          : { isDirectory: false, mode: 0o600, size: 44 },
      ),
    writable: () => Promise.resolve(true),
    readStart: (path) =>
      Promise.resolve(
        path.endsWith('secret')
          ? Buffer.from(SECRET)
          : path.startsWith('/proc/sys/')
            ? Buffer.from('1\n')
            : Buffer.from('SQLite format 3\0'),
      ),
    unixGet: (_socket, path) =>
      Promise.resolve(
        path.includes('/networks/')
          ? { status: 200, body: JSON.stringify(NETWORK) }
          : { status: 200, body: '{"Version":"4.3.1"}' },
      ),
    command: (file, args) => {
      if (file === 'haproxy')
        return Promise.resolve({
          code: 0,
          stdout: 'HAProxy version 2.6.12-1+deb12u1 2023/12/16\n',
          stderr: '',
        });
      if (file === 'runsc')
        return Promise.resolve({ code: 0, stdout: 'runsc version release-20260101.0\n', stderr: '' });
      if (file === 'nft') {
        assert.deepEqual(args, ['-j', 'list', 'table', 'inet', 'codius']);
        const nftables = [
          { chain: { name: 'forward', hook: 'forward' } },
          { chain: { name: 'input', hook: 'input' } },
          { rule: { expr: [{ drop: null }] } },
          {
            rule: {
              expr: [
                { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'codius0' } },
                { drop: null },
              ],
            },
          },
        ];
        return Promise.resolve({ code: 0, stdout: JSON.stringify({ nftables }), stderr: '' });
      }
      return Promise.resolve({ code: 0, stdout: '', stderr: '' });
    },
    ildcp: () => Promise.resolve({ clientAddress: 'g.ilp.host.child', assetCode: 'XRP', assetScale: 9 }),
    resolve: () => Promise.resolve(['203.0.113.9']),
    localAddresses: () => ['127.0.0.1', '203.0.113.9'],
    httpGet: (url) =>
      Promise.resolve(
        url.endsWith('/info')
          ? { status: 200, headers: {}, body: JSON.stringify({ uri: 'https://codius.example.com' }) }
          : { status: 404, headers: {}, body: `{"message":"no pod with that hash found. hash=${HASH}"}` },
      ),
    certificate: () => Promise.resolve(cert('DNS:codius.example.com, DNS:*.codius.example.com')),
    freeBytes: () => Promise.resolve(40 * GIB),
    memory: () => ({ total: 8 * GIB, free: 6 * GIB }),
    randomHash: () => HASH,
    devices: () => Promise.resolve([]),
    openPayments: () => Promise.resolve({ assetCode: 'USD', assetScale: 2, granted: null }),
    certificateFile: () =>
      Promise.resolve({
        names: ['codius.example.com', '*.codius.example.com'],
        notAfter: new Date(Date.now() + 60 * 86_400_000),
        mode: 0o600,
      }),
    acmeDnsDryRun: () =>
      Promise.resolve({
        name: '_acme-challenge.codius.example.com',
        how: 'RFC 2136 update of zone codius.example.com',
        publishMs: 12,
        visibleMs: 1040,
      }),
  };
}

const ACME_ENV = {
  ...ENV,
  CODIUS_ACME: 'true',
  CODIUS_ACME_RFC2136_SERVER: 'ns1.example.com',
  CODIUS_ACME_RFC2136_TSIG_NAME: 'codiusd-acme',
  CODIUS_ACME_RFC2136_TSIG_SECRET: Buffer.alloc(32, 3).toString('base64'),
};

const statusOf = async (id: string, probes: DoctorProbes, env: Record<string, string> = ENV) =>
  (await runDoctor(env, probes)).checks.find((line) => line.id === id);

describe('codiusd doctor', () => {
  it('passes every check on a healthy host, exit status ok', async () => {
    const report = await runDoctor(ENV, healthy());
    assert.deepEqual(
      report.checks.filter((line) => line.status !== 'pass').map((line) => line.id),
      [],
    );
    assert.equal(report.ok, true);
    assert.match(formatDoctorReport(report), /^✓ Configuration/);
    assert.match(formatDoctorReport(report), /all checks passed, 0 warning\(s\)/);
  });

  const broken: Array<[string, string, (probes: DoctorProbes) => void, Record<string, string>?]> = [
    [
      'data-directory',
      'not a directory',
      (p) =>
        (p.stat = (path) =>
          Promise.resolve(path === ROOT ? { isDirectory: false, mode: 0o600, size: 1 } : null)),
    ],
    [
      'secret',
      'not 32 bytes',
      (p) => {
        const real = healthy();
        p.readStart = (path, bytes) =>
          path.endsWith('secret') ? Promise.resolve(Buffer.from('short')) : real.readStart(path, bytes);
      },
    ],
    [
      'store',
      'not a sqlite',
      (p) => {
        const real = healthy();
        p.readStart = (path, bytes) =>
          path.endsWith('sqlite') ? Promise.resolve(Buffer.from('garbage')) : real.readStart(path, bytes);
      },
    ],
    [
      'runtime',
      'podman 3.4.0',
      (p) => (p.unixGet = () => Promise.resolve({ status: 200, body: '{"Version":"3.4.0"}' })),
    ],
    [
      'oci-runtime',
      'runsc is not installed',
      (p) => {
        const real = healthy();
        p.command = (file, args) => (file === 'runsc' ? Promise.resolve(null) : real.command(file, args));
      },
    ],
    [
      'firewall',
      'is absent',
      (p) =>
        (p.command = (file) =>
          Promise.resolve(
            file === 'nft'
              ? { code: 1, stdout: '', stderr: 'No such file' }
              : { code: 0, stdout: 'runsc', stderr: '' },
          )),
    ],
    [
      'firewall',
      'pods use bridge podman1, but table inet codius filters codius0',
      (p) =>
        (p.unixGet = (_socket, path) =>
          Promise.resolve({
            status: 200,
            body: path.includes('/networks/')
              ? JSON.stringify({ ...NETWORK, network_interface: 'podman1' })
              : '{"Version":"4.3.1"}',
          })),
    ],
    [
      'firewall',
      'uses subnet 10.88.0.0/16, not CODIUS_PODMAN_SUBNET=10.89.240.0/20',
      (p) =>
        (p.unixGet = (_socket, path) =>
          Promise.resolve({
            status: 200,
            body: path.includes('/networks/')
              ? JSON.stringify({ ...NETWORK, subnets: [{ subnet: '10.88.0.0/16', gateway: '10.88.0.1' }] })
              : '{"Version":"4.3.1"}',
          })),
    ],
    [
      'firewall',
      'bypasses nftables',
      (p) => {
        const real = healthy();
        p.readStart = (path, bytes) =>
          path.startsWith('/proc/sys/') ? Promise.resolve(Buffer.from('0\n')) : real.readStart(path, bytes);
      },
    ],
    [
      'devices',
      '/dev/null (owner 2147483647:2147483647, mode 666): codiusd runs no pod until they are restored',
      (p) =>
        (p.devices = () =>
          Promise.resolve([{ path: '/dev/null', found: 'owner 2147483647:2147483647, mode 666' }])),
    ],
    [
      'open-payments',
      "its provider refused the host's key: invalid signature",
      (p) =>
        (p.openPayments = () =>
          Promise.resolve({ assetCode: 'USD', assetScale: 2, granted: 'invalid signature' })),
    ],
    [
      'open-payments',
      'no answer',
      (p) =>
        (p.openPayments = () =>
          Promise.reject(new Error('reading the wallet address: no answer in 15000 ms'))),
    ],
    [
      'ilp',
      'did not answer',
      (p) => (p.ildcp = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:7768'))),
      // Without Open Payments moneyd is the only way to be paid.
      {
        CODIUS_OPEN_PAYMENTS_WALLET: '',
        CODIUS_OPEN_PAYMENTS_KEY_ID: '',
        CODIUS_OPEN_PAYMENTS_PRIVATE_KEY: '',
      },
    ],
    [
      'public-uri',
      'does not resolve',
      (p) =>
        (p.resolve = (host) =>
          host.startsWith(HASH) ? Promise.reject(new Error('ENOTFOUND')) : Promise.resolve(['203.0.113.9'])),
    ],
    ['tls', 'does not cover', (p) => (p.certificate = () => Promise.resolve(cert('DNS:codius.example.com')))],
    [
      'admin',
      'every interface',
      () => undefined,
      {
        CODIUS_ADMIN_API: 'true',
        CODIUS_ADMIN_BIND_IP: '0.0.0.0',
        CODIUS_ADMIN_TOKEN: 'a-long-enough-admin-token',
      },
    ],
    ['disk', 'GiB free', (p) => (p.freeBytes = () => Promise.resolve(0.5 * GIB))],
    ['memory', 'for pods', (p) => (p.memory = () => ({ total: 0.5 * GIB, free: 0.2 * GIB }))],
  ];
  for (const [id, detail, breakIt, env] of broken) {
    it(`fails the ${id} check with a fix, and the whole run`, async () => {
      const probes = healthy();
      breakIt(probes);
      const report = await runDoctor({ ...ENV, ...env }, probes);
      const line = report.checks.find((check) => check.id === id);
      assert.equal(line?.status, 'fail', JSON.stringify(line));
      assert.ok(line.detail.includes(detail), line.detail);
      assert.ok(line.fix && line.fix.length > 10);
      assert.equal(report.ok, false);
      assert.equal(
        report.checks.filter((check) => check.status === 'fail').length,
        1,
        'only that check fails',
      );
    });
  }

  it('fails on a configuration that does not load and skips the rest', async () => {
    const report = await runDoctor({ CODIUS_PORT: 'eighty' }, healthy());
    const [first] = report.checks;
    assert.ok(first);
    assert.equal(first.status, 'fail');
    assert.match(first.detail, /CODIUS_PORT/);
    assert.ok(report.checks.slice(1).every((line) => line.status === 'skip'));
  });

  it('warns where a host works but is weaker than it should be', async () => {
    const probes = healthy();
    probes.command = (file) =>
      Promise.resolve({
        code: 0,
        stdout:
          file === 'runc'
            ? 'runc version 1.1.5\n'
            : JSON.stringify({
                nftables: [
                  { chain: { hook: 'forward' } },
                  {
                    rule: {
                      expr: [
                        { match: { left: { meta: { key: 'iifname' } }, right: 'codius0' } },
                        { drop: null },
                      ],
                    },
                  },
                ],
              }),
        stderr: '',
      });
    probes.ildcp = () =>
      Promise.resolve({ clientAddress: 'private.moneyd.local.x', assetCode: 'XRP', assetScale: 9 });
    probes.certificate = () =>
      Promise.resolve(
        cert('DNS:codius.example.com, DNS:*.codius.example.com', new Date(Date.now() + 5 * 86_400_000)),
      );
    const report = await runDoctor({ ...ENV, CODIUS_OCI_RUNTIME: 'runc' }, probes);
    const warned = report.checks.filter((line) => line.status === 'warn').map((line) => line.id);
    assert.deepEqual(warned, ['oci-runtime', 'tls'], 'play money beside Open Payments is fine');
    assert.equal(report.ok, true);
    const streamOnly = await runDoctor(
      {
        ...ENV,
        CODIUS_OCI_RUNTIME: 'runc',
        CODIUS_OPEN_PAYMENTS_WALLET: '',
        CODIUS_OPEN_PAYMENTS_KEY_ID: '',
        CODIUS_OPEN_PAYMENTS_PRIVATE_KEY: '',
      },
      probes,
    );
    const ilp = streamOnly.checks.find((line) => line.id === 'ilp');
    assert.equal(ilp?.status, 'warn');
    assert.match(ilp.fix ?? '', /uplinks reach no live Interledger network/);
    assert.equal(
      await statusOf('public-uri', {
        ...healthy(),
        httpGet: () => Promise.reject(new Error('ECONNREFUSED')),
      }).then((l) => l?.status),
      'fail',
    );
  });

  it('says which proxy engine serves and why', async () => {
    assert.match(
      (await statusOf('proxy-engine', healthy()))?.detail ?? '',
      /HAProxy 2\.6\.12.*CODIUS_PROXY_ENGINE=haproxy/,
    );
    const broken = { ...healthy(), command: () => Promise.resolve(null) };
    assert.equal((await statusOf('proxy-engine', broken))?.status, 'fail');
    const builtin = await statusOf('proxy-engine', healthy(), { ...ENV, CODIUS_PROXY_ENGINE: '' });
    assert.equal(builtin?.status, 'warn', 'production without HAProxy');
    assert.match(builtin.fix ?? '', /apt-get install haproxy/);
  });

  it('shows the ACME certificate and its expiry, and dry-runs the DNS publication only when asked', async () => {
    const report = await runDoctor(ACME_ENV, healthy());
    const acme = report.checks.find((line) => line.id === 'acme');
    assert.equal(acme?.status, 'pass');
    assert.match(
      acme.detail,
      /DNS-01 by rfc2136; codius\.example\.com, \*\.codius\.example\.com, (59|60) days left/,
    );
    assert.equal(
      report.checks.find((line) => line.id === 'acme-dns'),
      undefined,
    );
    const file = (mode: number, days: number) => () =>
      Promise.resolve({
        names: ['codius.example.com'],
        notAfter: new Date(Date.now() + days * 86_400_000),
        mode,
      });
    assert.equal(
      (await statusOf('acme', { ...healthy(), certificateFile: file(0o644, 60) }, ACME_ENV))?.status,
      'fail',
    );
    assert.equal(
      (await statusOf('acme', { ...healthy(), certificateFile: file(0o600, 3) }, ACME_ENV))?.status,
      'warn',
    );
    const none = await statusOf(
      'acme',
      { ...healthy(), certificateFile: () => Promise.resolve(null) },
      ACME_ENV,
    );
    assert.match(none?.detail ?? '', /no certificate yet/);
    assert.match((await statusOf('acme', healthy()))?.detail ?? '', /^off/);

    const dry = await runDoctor(ACME_ENV, healthy(), { acme: true });
    assert.match(
      dry.checks.find((line) => line.id === 'acme-dns')?.detail ?? '',
      /published in 12 ms .* after 1040 ms, removed/,
    );
    const refused = {
      ...healthy(),
      acmeDnsDryRun: () => Promise.reject(new Error('DNS server refused: TSIG BADSIG')),
    };
    const failed = (await runDoctor(ACME_ENV, refused, { acme: true })).checks.find(
      (line) => line.id === 'acme-dns',
    );
    assert.equal(failed?.status, 'fail');
    assert.match(failed.fix ?? '', /TSIG key/);
    const off = (await runDoctor(ENV, healthy(), { acme: true })).checks.find(
      (line) => line.id === 'acme-dns',
    );
    assert.equal(off?.status, 'skip');
  });
});
