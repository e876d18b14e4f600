import assert from 'node:assert/strict';
import { NON_PUBLIC_NETWORKS, TRANSLATED_NETWORKS } from '../../src/net/non-public.js';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { ConfigError, describeVariables, executableExists, loadConfig } from '../../src/config/config.js';
import { read } from '../../src/config/read.js';
import { DEFAULT_BOOTSTRAP_PEERS, VARIABLES } from '../../src/config/variables.js';

const PUBLIC = { CODIUS_PUBLIC_URI: 'https://codius.example.com' };

function rejects(env: Record<string, string>, variable: string, expectedText?: RegExp): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.variable, variable);
    assert.match(error.message, new RegExp(`^${variable} `));
    assert.doesNotMatch(error.message, /\n/, 'one line');
    if (expectedText) assert.match(error.message, expectedText);
    return error;
  }
  assert.fail(`expected ${variable} to be rejected`);
}

describe('config', () => {
  it('has the documented defaults', () => {
    const config = loadConfig(PUBLIC);
    assert.equal(config.publicUri, 'https://codius.example.com');
    assert.equal(config.port, 3000);
    assert.equal(config.bindIp, '127.0.0.1');
    assert.equal(config.root, '/var/lib/codius');
    assert.equal(config.inMemoryStore, false);
    assert.deepEqual(config.bootstrapPeers, [...DEFAULT_BOOTSTRAP_PEERS]);
    assert.equal(config.maxMemoryFraction, 0.75);
    assert.equal(config.additionalHostInfo, true);
    assert.equal(config.costPerMonth, '10');
    assert.deepEqual(config.runtime, {
      kind: 'podman',
      imagePullTimeoutMs: 300_000,
      reconcileIntervalMs: 60_000,
      podman: { socket: null, network: 'codius', subnet: '10.89.240.0/20', ociRuntime: 'runc' },
      hyperd: { socket: '/var/run/hyper.sock', noop: false },
      kubernetes: {
        namespace: 'codius',
        runtimeClass: null,
        blockedNetworks: config.runtime.kubernetes.blockedNetworks,
        blockedPorts: config.sandbox.blockedPorts,
      },
    });
    assert.equal(
      config.runtime.kubernetes.blockedNetworks.length,
      NON_PUBLIC_NETWORKS.length + TRANSLATED_NETWORKS.length,
    );
    assert.deepEqual(config.selfTest, {
      enabled: true,
      retries: 5,
      intervalMs: 5000,
      repeatMs: 3_600_000,
      address: null,
    });
    assert.equal(config.quoteMode, 'free');
    assert.deepEqual(config.payments, { timeoutMs: 60_000, maxDurationSeconds: 31_536_000 });
    assert.deepEqual(config.peers, {
      maxPeers: 1000,
      discoveryIntervalMs: 5000,
      fanout: 5,
      timeoutMs: 5000,
      maxFailures: 5,
      dropAfterMs: 3_600_000,
    });
    assert.deepEqual(config.proxy, {
      trustedProxies: [
        { address: '127.0.0.1', prefix: 32, family: 'ipv4' },
        { address: '::1', prefix: 128, family: 'ipv6' },
      ],
      timeoutMs: 300_000,
      maxConnectionsPerPod: 128,
      maxConnections: 16_384,
      engine: 'builtin',
      engineReason:
        'default for production without HAProxy (haproxy not found; apt-get install haproxy for the faster engine)',
      haproxyPath: 'haproxy',
      tls: null,
    });
    assert.deepEqual(config.admin, {
      enabled: false,
      host: '127.0.0.1',
      port: 3001,
      token: null,
      hostnames: [],
    });
    assert.equal(config.logLevel, 'info');
    assert.equal(config.dev, false);
    assert.deepEqual(config.ilp, { plugin: 'ilp-plugin-btp', credentials: null, btpServer: null });
  });

  it('requires CODIUS_PUBLIC_URI unless in dev mode, where it defaults to local.codius.org:<port>', () => {
    rejects({}, 'CODIUS_PUBLIC_URI', /CODIUS_DEV=true/);
    const dev = loadConfig({ CODIUS_DEV: 'true', CODIUS_PORT: '4100' });
    assert.equal(dev.publicUri, 'http://local.codius.org:4100');
    assert.equal(dev.selfTest.enabled, false, 'no self test in dev mode by default');
  });

  it('reads every variable it documents', () => {
    const config = loadConfig({
      CODIUS_PUBLIC_URI: 'https://h.example',
      CODIUS_PORT: '8080',
      CODIUS_BIND_IP: '::1',
      CODIUS_ROOT: '/srv/codius',
      CODIUS_MEMDOWN_PERSIST: 'true',
      CODIUS_BOOTSTRAP_PEERS: '["https://a.example","http://b.example:3000"]',
      CODIUS_MAX_MEMORY_FRACTION: '1',
      CODIUS_ADDITIONAL_HOST_INFO: 'false',
      CODIUS_COST_PER_MONTH: '0.5',
      CODIUS_RUNTIME: 'hyperd',
      CODIUS_PODMAN_SOCKET: '/run/podman.sock',
      CODIUS_HYPER_SOCKET: '/run/hyper.sock',
      CODIUS_HYPER_NOOP: 'true',
      CODIUS_K8S_NAMESPACE: 'codius-pods',
      CODIUS_K8S_RUNTIME_CLASS: 'gvisor',
      CODIUS_PODMAN_NETWORK: 'pods-1',
      CODIUS_PODMAN_SUBNET: '10.1.0.0/16',
      CODIUS_IMAGE_PULL_TIMEOUT: '30',
      CODIUS_RECONCILE_INTERVAL: '15',
      CODIUS_SELF_TEST: 'false',
      CODIUS_SELF_TEST_RETRIES: '0',
      CODIUS_SELF_TEST_INTERVAL: '0.5',
      CODIUS_SELF_TEST_REPEAT: '0',
      CODIUS_MAX_PEERS: '50',
      CODIUS_SELF_TEST_ADDRESS: '[::1]:8443',
      CODIUS_QUOTE_MODE: 'stream',
      CODIUS_PAYMENT_TIMEOUT: '1.5',
      CODIUS_MAX_DURATION: '86400',
      CODIUS_TRUSTED_PROXIES: '10.0.0.0/8, 192.0.2.7,fd00::/8',
      CODIUS_PEER_DISCOVERY_INTERVAL: '0.25',
      CODIUS_PEER_FANOUT: '3',
      CODIUS_PEER_TIMEOUT: '1.5',
      CODIUS_PEER_MAX_FAILURES: '2',
      CODIUS_PEER_DROP_AFTER: '0',
      CODIUS_PROXY_TIMEOUT: '2.5',
      CODIUS_PROXY_MAX_CONNECTIONS: '16',
      CODIUS_MAX_CONNECTIONS: '500',
      CODIUS_PROXY_ENGINE: 'haproxy',
      CODIUS_HAPROXY_PATH: '/usr/local/sbin/haproxy',
      CODIUS_TLS_CERT: '/etc/codiusd/tls/fullchain.pem',
      CODIUS_TLS_KEY: '/etc/codiusd/tls/privkey.pem',
      CODIUS_ADMIN_API: 'true',
      CODIUS_ADMIN_PORT: '8081',
      CODIUS_ADMIN_BIND_IP: '10.0.0.5',
      CODIUS_ADMIN_TOKEN: 'an-admin-token-of-some-length',
      CODIUS_LOG_LEVEL: 'debug',
      CODIUS_SHUTDOWN_TIMEOUT: '2.5',
      ILP_PLUGIN: 'ilp-plugin-btp',
      ILP_CREDENTIALS: '{"server":"btp+ws://:s@localhost:7768"}',
      ILP_BTP_SERVER: 'btp+wss://moneyd.example:443',
    });
    assert.equal(config.port, 8080);
    assert.equal(config.bindIp, '::1');
    assert.equal(config.root, '/srv/codius');
    assert.equal(config.inMemoryStore, true);
    assert.deepEqual(config.bootstrapPeers, ['https://a.example', 'http://b.example:3000']);
    assert.equal(config.maxMemoryFraction, 1);
    assert.equal(config.additionalHostInfo, false);
    assert.equal(config.costPerMonth, '0.5');
    assert.deepEqual(config.runtime, {
      kind: 'hyperd',
      imagePullTimeoutMs: 30_000,
      reconcileIntervalMs: 15_000,
      podman: { socket: '/run/podman.sock', network: 'pods-1', subnet: '10.1.0.0/16', ociRuntime: 'runc' },
      hyperd: { socket: '/run/hyper.sock', noop: true },
      kubernetes: {
        namespace: 'codius-pods',
        runtimeClass: 'gvisor',
        blockedNetworks: config.runtime.kubernetes.blockedNetworks,
        blockedPorts: config.sandbox.blockedPorts,
      },
    });
    assert.deepEqual(config.selfTest, {
      enabled: false,
      retries: 0,
      intervalMs: 500,
      repeatMs: 0,
      address: { host: '::1', port: 8443 },
    });
    assert.equal(config.quoteMode, 'stream');
    assert.deepEqual(config.payments, { timeoutMs: 1500, maxDurationSeconds: 86_400 });
    assert.deepEqual(config.peers, {
      maxPeers: 50,
      discoveryIntervalMs: 250,
      fanout: 3,
      timeoutMs: 1500,
      maxFailures: 2,
      dropAfterMs: 0,
    });
    assert.deepEqual(config.proxy, {
      trustedProxies: [
        { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
        { address: '192.0.2.7', prefix: 32, family: 'ipv4' },
        { address: 'fd00::', prefix: 8, family: 'ipv6' },
      ],
      timeoutMs: 2500,
      maxConnectionsPerPod: 16,
      maxConnections: 500,
      engine: 'haproxy',
      engineReason: 'CODIUS_PROXY_ENGINE=haproxy',
      haproxyPath: '/usr/local/sbin/haproxy',
      tls: { certFile: '/etc/codiusd/tls/fullchain.pem', keyFile: '/etc/codiusd/tls/privkey.pem' },
    });
    assert.deepEqual(config.admin, {
      enabled: true,
      host: '10.0.0.5',
      port: 8081,
      token: 'an-admin-token-of-some-length',
      hostnames: [],
    });
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.shutdownTimeoutMs, 2500);
    assert.deepEqual(config.ilp.credentials, { server: 'btp+ws://:s@localhost:7768' });
    assert.equal(config.ilp.btpServer, 'btp+wss://moneyd.example:443');
  });

  it('takes the price from the first of CODIUS_COST_PER_MONTH, COST_PER_MONTH, CODIUS_XRP_PER_MONTH', () => {
    assert.equal(loadConfig({ ...PUBLIC, CODIUS_XRP_PER_MONTH: '3' }).costPerMonth, '3');
    assert.equal(loadConfig({ ...PUBLIC, COST_PER_MONTH: '2', CODIUS_XRP_PER_MONTH: '3' }).costPerMonth, '2');
    assert.equal(
      loadConfig({ ...PUBLIC, CODIUS_COST_PER_MONTH: '1', COST_PER_MONTH: '2', CODIUS_XRP_PER_MONTH: '3' })
        .costPerMonth,
      '1',
    );
  });

  it('CODIUS_TRUSTED_PROXIES=none trusts nobody', () => {
    assert.deepEqual(loadConfig({ ...PUBLIC, CODIUS_TRUSTED_PROXIES: 'none' }).proxy.trustedProxies, []);
  });

  it('treats empty values as unset', () => {
    assert.equal(loadConfig({ ...PUBLIC, CODIUS_PORT: '' }).port, 3000);
  });

  const bad: Array<[string, string]> = [
    ['CODIUS_PUBLIC_URI', 'codius.example.com'],
    ['CODIUS_PUBLIC_URI', 'ftp://codius.example.com'],
    ['CODIUS_PORT', 'notaport'],
    ['CODIUS_PORT', '0'],
    ['CODIUS_PORT', '65536'],
    ['CODIUS_PORT', '80.5'],
    ['CODIUS_BIND_IP', 'localhost'],
    ['CODIUS_BIND_IP', '10.0.0.0/8'],
    ['CODIUS_MEMDOWN_PERSIST', 'yes'],
    ['CODIUS_BOOTSTRAP_PEERS', 'https://a.example'],
    ['CODIUS_BOOTSTRAP_PEERS', '{"peers":[]}'],
    ['CODIUS_BOOTSTRAP_PEERS', '["not a url"]'],
    ['CODIUS_MAX_MEMORY_FRACTION', '0'],
    ['CODIUS_MAX_MEMORY_FRACTION', '1.01'],
    ['CODIUS_MAX_MEMORY_FRACTION', '-0.5'],
    ['CODIUS_ADDITIONAL_HOST_INFO', 'maybe'],
    ['CODIUS_COST_PER_MONTH', '-1'],
    ['CODIUS_COST_PER_MONTH', 'ten'],
    ['COST_PER_MONTH', '1e3'],
    ['CODIUS_RUNTIME', 'docker'],
    ['CODIUS_HYPER_NOOP', 'on'],
    ['CODIUS_PODMAN_NETWORK', 'Codius'],
    ['CODIUS_PODMAN_NETWORK', 'a-name-too-long'],
    ['CODIUS_PODMAN_SUBNET', '10.89.240.1/20'],
    ['CODIUS_PODMAN_SUBNET', '10.89.240.0/30'],
    ['CODIUS_PODMAN_SUBNET', '300.0.0.0/8'],
    ['CODIUS_IMAGE_PULL_TIMEOUT', '0'],
    ['CODIUS_RECONCILE_INTERVAL', '1'],
    ['CODIUS_SELF_TEST', 'sometimes'],
    ['CODIUS_SELF_TEST_RETRIES', '-1'],
    ['CODIUS_SELF_TEST_INTERVAL', '0'],
    ['CODIUS_QUOTE_MODE', 'paid'],
    ['CODIUS_PAYMENT_TIMEOUT', '0'],
    ['CODIUS_PAYMENT_TIMEOUT', '601'],
    ['CODIUS_MAX_DURATION', '0'],
    ['CODIUS_MAX_DURATION', '1.5'],
    ['ILP_BTP_SERVER', 'http://localhost:7768'],
    ['CODIUS_TRUSTED_PROXIES', 'localhost'],
    ['CODIUS_TRUSTED_PROXIES', '10.0.0.0/33'],
    ['CODIUS_TRUSTED_PROXIES', '10.0.0.1,'],
    ['CODIUS_TRUSTED_PROXIES', '::1/129'],
    ['CODIUS_PROXY_TIMEOUT', '0'],
    ['CODIUS_PEER_DISCOVERY_INTERVAL', '0'],
    ['CODIUS_PEER_FANOUT', '0'],
    ['CODIUS_PEER_TIMEOUT', '301'],
    ['CODIUS_PEER_MAX_FAILURES', '1.5'],
    ['CODIUS_PEER_DROP_AFTER', '-1'],
    ['CODIUS_PROXY_MAX_CONNECTIONS', '0'],
    ['CODIUS_PROXY_MAX_CONNECTIONS', '2.5'],
    ['CODIUS_ADMIN_API', 'enabled'],
    ['CODIUS_ADMIN_PORT', '70000'],
    ['CODIUS_LOG_LEVEL', 'loud'],
    ['CODIUS_SHUTDOWN_TIMEOUT', '0'],
    ['ILP_CREDENTIALS', '{"server":'],
    ['ILP_CREDENTIALS', '[1,2]'],
  ];
  for (const [variable, value] of bad) {
    it(`rejects ${variable}=${value} naming the variable and what it expects`, () => {
      const error = rejects({ ...PUBLIC, [variable]: value }, variable);
      const spec = VARIABLES.find((v) => v.name === variable);
      assert.ok(spec);
      if (variable !== 'CODIUS_PUBLIC_URI') assert.ok(error.message.includes(spec.expected));
    });
  }

  it('never echoes ILP_CREDENTIALS, which hold secrets', () => {
    const error = rejects(
      { ...PUBLIC, ILP_CREDENTIALS: '{"server":"btp+ws://:hunter2@x' },
      'ILP_CREDENTIALS',
    );
    assert.doesNotMatch(error.message, /hunter2/);
  });

  it('leaves the admin token to the generated file when unset, reads the host names, never echoes the token', () => {
    const base = { CODIUS_PUBLIC_URI: 'https://h.example', CODIUS_ADMIN_API: 'true' };
    const generated = loadConfig({ ...base, CODIUS_ADMIN_BIND_IP: '0.0.0.0' }).admin;
    assert.equal(generated.token, null);
    assert.deepEqual(generated.hostnames, []);
    assert.deepEqual(
      loadConfig({ ...base, CODIUS_ADMIN_HOSTS: 'Admin.Example.com, ops.example' }).admin.hostnames,
      ['admin.example.com', 'ops.example'],
    );
    rejects({ ...base, CODIUS_ADMIN_HOSTS: 'http://admin.example.com/' }, 'CODIUS_ADMIN_HOSTS');
    assert.throws(
      () => loadConfig({ ...base, CODIUS_ADMIN_TOKEN: 'short secret' }),
      (error: Error) => /value hidden/.test(error.message) && !error.message.includes('short secret'),
    );
  });

  it('rejects an admin port equal to the public port when the admin API is on', () => {
    rejects(
      { ...PUBLIC, CODIUS_ADMIN_API: 'true', CODIUS_PORT: '4000', CODIUS_ADMIN_PORT: '4000' },
      'CODIUS_ADMIN_PORT',
    );
    assert.doesNotThrow(() => loadConfig({ ...PUBLIC, CODIUS_PORT: '4000', CODIUS_ADMIN_PORT: '4000' }));
  });

  it('declares each default once: valid for its own schema, and what --help shows', () => {
    const help = describeVariables();
    let declared = 0;
    for (const variable of VARIABLES) {
      if (variable.default === undefined) continue;
      declared += 1;
      assert.equal(variable.defaultText, undefined, `${variable.name}: a default and a text for it`);
      assert.notEqual(read({}, variable.name), undefined, `${variable.name}: its default reads`);
      assert.ok(help.includes(`Default: ${variable.default}.`), `${variable.name}: --help shows it`);
    }
    assert.ok(declared > 40, `${declared} variables declare a default`);
    assert.equal(loadConfig(PUBLIC).port, 3000);
  });

  it('.env.example documents every variable', async () => {
    const example = await readFile(new URL('../../../.env.example', import.meta.url), 'utf8');
    for (const variable of VARIABLES) {
      assert.match(
        example,
        new RegExp(`^#? ?${variable.name}=`, 'm'),
        `${variable.name} missing in .env.example`,
      );
    }
  });

  it('runs HAProxy by default on a production host that has it, the built-in engine otherwise', () => {
    const found = { executableExists: (command: string) => command === '/usr/sbin/haproxy' };
    const env = { ...PUBLIC, CODIUS_HAPROXY_PATH: '/usr/sbin/haproxy' };
    assert.equal(loadConfig(env, found).proxy.engine, 'haproxy');
    assert.match(loadConfig(env, found).proxy.engineReason, /HAProxy is installed/);
    const dev = loadConfig({ CODIUS_DEV: 'true', CODIUS_HAPROXY_PATH: '/usr/sbin/haproxy' }, found);
    assert.equal(dev.proxy.engine, 'builtin');
    const missing = loadConfig({ ...PUBLIC, CODIUS_HAPROXY_PATH: '/opt/haproxy' }, found);
    assert.equal(missing.proxy.engine, 'builtin');
    assert.match(missing.proxy.engineReason, /not found; apt-get install haproxy/);
    assert.equal(loadConfig({ ...env, CODIUS_PROXY_ENGINE: 'builtin' }, found).proxy.engine, 'builtin');
    assert.equal(executableExists('sh', '/nonexistent:/bin:/usr/bin'), true);
    assert.equal(executableExists('no-such-program-here', '/bin:/usr/bin'), false);
  });

  it('reads the ACME settings and refuses what cannot work', () => {
    const acme = {
      ...PUBLIC,
      CODIUS_ACME: 'true',
      CODIUS_ACME_RFC2136_SERVER: '[2001:db8::53]:5353',
      CODIUS_ACME_RFC2136_TSIG_NAME: 'Codiusd-Acme.',
      CODIUS_ACME_RFC2136_TSIG_SECRET: Buffer.alloc(32, 1).toString('base64'),
      CODIUS_DNS_RESOLVER: '127.0.0.1:5353, 9.9.9.9',
    };
    const { https } = loadConfig(acme);
    assert.equal(https.acme?.directoryUrl, 'https://acme-v02.api.letsencrypt.org/directory');
    assert.deepEqual(https.acme.dns.kind === 'rfc2136' && https.acme.dns.server, {
      host: '2001:db8::53',
      port: 5353,
    });
    assert.equal(https.acme.dns.kind === 'rfc2136' && https.acme.dns.zone, 'codius.example.com');
    assert.equal(https.acme.dns.kind === 'rfc2136' && https.acme.dns.tsig.name, 'codiusd-acme');
    assert.deepEqual(https.dnsResolvers, [
      { host: '127.0.0.1', port: 5353 },
      { host: '9.9.9.9', port: 53 },
    ]);
    assert.equal(https.httpPort, 80);
    assert.deepEqual(https.customDomains, { perPod: 5, ordersPerHour: 20 });
    const hook = loadConfig({
      ...PUBLIC,
      CODIUS_ACME: 'true',
      CODIUS_ACME_DNS: 'exec',
      CODIUS_ACME_DNS_HOOK: '/bin/hook',
    });
    assert.deepEqual(hook.https.acme?.dns, { kind: 'exec', hook: '/bin/hook', timeoutMs: 120_000 });
    assert.equal(loadConfig(PUBLIC).https.acme, null);

    const refusals: Array<[Record<string, string>, RegExp]> = [
      [
        { ...PUBLIC, CODIUS_ACME: 'true' },
        /CODIUS_ACME_RFC2136_SERVER must be set with CODIUS_ACME_DNS=rfc2136/,
      ],
      [{ ...PUBLIC, CODIUS_ACME: 'true', CODIUS_ACME_DNS: 'exec' }, /CODIUS_ACME_DNS_HOOK must be set/],
      [{ ...acme, CODIUS_TLS_CERT: '/c', CODIUS_TLS_KEY: '/k' }, /unset CODIUS_TLS_CERT/],
      [{ ...acme, CODIUS_PUBLIC_URI: 'http://codius.example.com' }, /must be https with TLS on/],
      [{ ...acme, CODIUS_DNS_RESOLVER: 'not a server' }, /CODIUS_DNS_RESOLVER must be/],
      [{ ...acme, CODIUS_ACME_RFC2136_TSIG_SECRET: 'not base64!' }, /\(value hidden\)/],
    ];
    for (const [env, message] of refusals) assert.throws(() => loadConfig(env), message);
  });
});
