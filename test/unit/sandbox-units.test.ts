import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ManifestHash } from '../../src/domain/types.js';
import { isCodiusError } from '../../src/domain/errors.js';
import { createPodFirewall } from '../../src/firewall/pod-firewall.js';
import { blockedNetworks, DEFAULT_BLOCKED_PORTS } from '../../src/firewall/policy.js';
import { blockedPodResolvers } from '../../src/firewall/resolvers.js';
import { firewallTableName, renderRuleset } from '../../src/firewall/ruleset.js';
import type { Nft } from '../../src/firewall/nft.js';
import { parseAddressList } from '../../src/net/address-list.js';
import { parsePortList } from '../../src/net/port-list.js';
import { createLogFollowers } from '../../src/pods/log-followers.js';
import { shortPullReason } from '../../src/runtime/podman/images.js';
import { hardeningFor, prepareOciRuntime } from '../../src/runtime/podman/oci-runtime.js';
import { containerSpec, WRITABLE_DIRS } from '../../src/runtime/podman/specs.js';
import { createRegistryPolicy, registryOf } from '../../src/runtime/registry-policy.js';
import { answerOf } from '../helpers/errors.js';
import { capturingLogger } from '../helpers/logs.js';
import { tempDir } from '../helpers/tmp.js';

const network = { bridge: 'codius0', gateway: '10.89.240.1' };
const policy = {
  ...network,
  blockedNetworks: blockedNetworks(parseAddressList('198.51.100.0/24') ?? []),
  blockedPorts: parsePortList(DEFAULT_BLOCKED_PORTS) ?? [],
  hostPorts: parsePortList('7768/tcp') ?? [],
  resolvers: ['169.254.169.253'],
};

describe('pod firewall ruleset', () => {
  const script = renderRuleset('codius', policy);

  it('replaces only its own table, atomically', () => {
    const lines = script.split('\n');
    assert.deepEqual(lines.slice(0, 3), [
      'table inet codius',
      'delete table inet codius',
      'table inet codius {',
    ]);
    assert.doesNotMatch(script, /flush ruleset/);
    assert.equal(firewallTableName('codius'), 'codius');
    assert.equal(firewallTableName('ct1234'), 'codius-ct1234');
    assert.throws(() => renderRuleset('bad name', policy), /table name/);
  });

  it('drops pod to pod first, then the blocked ranges (defaults and the operator’s), then refuses ports', () => {
    const forward = script
      .slice(script.indexOf('chain forward'), script.indexOf('chain input'))
      .split('\n')
      .map((line) => line.trim());
    const order = [
      'iifname "codius0" oifname "codius0" drop',
      'iifname "codius0" ip daddr 169.254.169.253 udp dport 53 accept',
      'iifname "codius0" ip daddr @blocked_v4 drop',
      'iifname "codius0" ip6 daddr @blocked_v6 drop',
      'iifname "codius0" tcp dport { 25, 465, 587, 5060 } reject with tcp reset',
      'iifname "codius0" udp dport { 5060 } reject',
      'oifname "codius0" ct state established,related accept',
      'oifname "codius0" drop',
    ].map((rule) => forward.indexOf(rule));
    assert.ok(
      order.every((at) => at >= 0),
      forward.join('\n'),
    );
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
      'in this order',
    );
    for (const range of [
      '10.0.0.0/8',
      '169.254.0.0/16',
      '100.64.0.0/10',
      '198.18.0.0/15',
      '192.0.0.0/24',
      '198.51.100.0/24',
    ]) {
      assert.ok(script.includes(range), range);
    }
    for (const range of [
      'fc00::/7',
      'fe80::/10',
      '::/96',
      'ff00::/8',
      'fec0::/10',
      '64:ff9b::/96',
      '64:ff9b:1::/48',
      '2002::/16',
    ])
      assert.ok(script.includes(range), range);
    assert.doesNotMatch(script, /203\.0\.113/, 'documentation ranges stay reachable');
  });

  it('opens exactly the host ports codiusd serves pods, and drops the rest of the host', () => {
    const input = script.slice(script.indexOf('chain input'));
    assert.match(
      input,
      /iifname "codius0" ct state established,related accept\n\s+iifname "codius0" ip daddr 10\.89\.240\.1 tcp dport \{ 7768 \} accept\n\s+iifname "codius0" drop/,
    );
  });
});

describe('pod firewall upkeep', () => {
  function fakeNft(): Nft & { applied: string[]; table: string | null } {
    // Lists the table as applied, so a table edited behind codiusd's back lists differently.
    const nft = {
      applied: [] as string[],
      table: null as string | null,
      apply(script: string) {
        nft.applied.push(script);
        nft.table = script;
        return Promise.resolve();
      },
      listTable: () => Promise.resolve(nft.table),
    };
    return nft;
  }
  const sysctl = (value: string) => () => Promise.resolve(`${value}\n`);

  it('re-applies a table that was removed, flushed or edited, or rendered for another bridge', async () => {
    const nft = fakeNft();
    const firewall = createPodFirewall({
      table: 'codius',
      policy,
      nft,
      logger: capturingLogger().logger,
      readSysctl: sysctl('1'),
    });
    await firewall.apply(network);
    assert.equal(await firewall.ensure(network), 'present');
    nft.table = null;
    assert.equal(await firewall.ensure(network), 'reapplied');
    // Chains flushed: the comment (and so any marker in it) is still there, the rules are not.
    nft.table = String(nft.applied.at(-1)).replace(/^\s+(iifname|oifname).*$/gm, '');
    assert.equal(await firewall.ensure(network), 'reapplied');
    assert.equal(await firewall.ensure({ bridge: 'podman1', gateway: '10.89.240.1' }), 'reapplied');
    assert.match(String(nft.applied.at(-1)), /iifname "podman1" oifname "podman1" drop/);
    assert.equal(nft.applied.length, 4);
    assert.equal(await firewall.listing(), nft.table);
  });

  it('sets bridge filtering back to 1, and refuses when it cannot or when the module is missing', async () => {
    let value = '0';
    const written: string[] = [];
    const restoring = createPodFirewall({
      table: 'codius',
      policy,
      nft: fakeNft(),
      logger: capturingLogger().logger,
      readSysctl: () => Promise.resolve(`${value}\n`),
      writeSysctl: (_path, next) => {
        written.push(next);
        value = next;
        return Promise.resolve();
      },
    });
    await restoring.apply(network);
    assert.deepEqual(written, ['1']);
    value = '0';
    assert.equal(await restoring.ensure(network), 'present', 'the rules themselves were intact');
    assert.deepEqual(written, ['1', '1']);
    const off = createPodFirewall({
      table: 'codius',
      policy,
      nft: fakeNft(),
      logger: capturingLogger().logger,
      readSysctl: sysctl('0'),
      writeSysctl: () => Promise.reject(new Error('EPERM')),
    });
    await assert.rejects(off.apply(network), /bridge-nf-call-iptables is 0/);
    const missing = createPodFirewall({
      table: 'codius',
      policy,
      nft: fakeNft(),
      logger: capturingLogger().logger,
      readSysctl: () => Promise.reject(new Error('ENOENT')),
    });
    await assert.rejects(missing.apply(network), /br_netfilter kernel module is not loaded/);
  });

  it('opens port 53 only on the resolvers pods are given that sit in blocked ranges', async () => {
    const files: Record<string, string> = {
      '/etc/resolv.conf': 'nameserver 127.0.0.53\nnameserver 169.254.169.253\nnameserver 9.9.9.9\n',
    };
    const read = (path: string) =>
      files[path] ? Promise.resolve(files[path]) : Promise.reject(new Error('ENOENT'));
    assert.deepEqual(await blockedPodResolvers(policy.blockedNetworks, read), ['169.254.169.253']);
    files['/etc/resolv.conf'] = 'nameserver 127.0.0.53\n';
    files['/run/systemd/resolve/resolv.conf'] = 'nameserver 10.0.0.2\n';
    assert.deepEqual(
      await blockedPodResolvers(policy.blockedNetworks, read),
      ['10.0.0.2'],
      "systemd-resolved's upstream",
    );
  });
});

describe('port lists', () => {
  it('parses port/protocol lists, refusing typos', () => {
    assert.deepEqual(parsePortList('25, 5060/udp,5060/TCP'), [
      { port: 25, protocol: 'tcp' },
      { port: 5060, protocol: 'udp' },
      { port: 5060, protocol: 'tcp' },
    ]);
    assert.deepEqual(parsePortList('none'), []);
    for (const bad of ['0', '65536', '25/sctp', 'smtp', '25,,26'])
      assert.equal(parsePortList(bad), null, bad);
  });
});

describe('registry policy', () => {
  const lookup = (answers: Record<string, string[]>) => (host: string) =>
    answers[host] ? Promise.resolve(answers[host]) : Promise.reject(new Error('ENOTFOUND'));

  it('reads the registry of a reference as Docker does', () => {
    assert.equal(registryOf('nginx'), 'docker.io');
    assert.equal(registryOf('library/node:20@sha256:abc'), 'docker.io');
    assert.equal(registryOf('ghcr.io/owner/app@sha256:abc'), 'ghcr.io');
    assert.equal(registryOf('127.0.0.1:5000/x/y'), '127.0.0.1:5000');
    assert.equal(registryOf('localhost/app'), 'localhost');
    assert.equal(registryOf('Registry.Example:443/a'), 'registry.example:443');
  });

  it('refuses registries that are or resolve to non-public addresses, unless allowed by name', async () => {
    const production = createRegistryPolicy({
      allowPrivate: false,
      allowed: ['registry.lan:5000'],
      lookup: lookup({
        'docker.io': ['44.0.0.1'],
        'evil.example': ['10.0.0.5'],
        'mixed.example': ['44.0.0.2', '::1'],
      }),
    });
    await production.check('nginx@sha256:abc');
    await production.check('registry.lan:5000/app');
    for (const [image, reason] of [
      ['127.0.0.1:5000/x', 'is not a public address'],
      ['[::1]:5000/x', 'is not a public address'],
      ['169.254.169.254/x', 'is not a public address'],
      ['evil.example/x', 'resolves to an address that is not public'],
      ['mixed.example/x', 'resolves to an address that is not public'],
      ['nowhere.example/x', 'cannot be resolved'],
      ['registry.lan:5001/x', 'cannot be resolved'],
    ] as const) {
      await assert.rejects(production.check(image), (error: unknown) => {
        assert.ok(isCodiusError(error, 'registry_not_allowed'), image);
        assert.equal(answerOf(error).status, 422);
        assert.match(answerOf(error).message, new RegExp(`${reason}$`), image);
        return true;
      });
    }
    const dev = createRegistryPolicy({ allowPrivate: true, allowed: [], lookup: lookup({}) });
    await dev.check('127.0.0.1:5000/x');
  });

  it('tells clients a short reason for a failed pull, never the registry’s raw error', () => {
    assert.equal(shortPullReason('manifest unknown: manifest unknown'), 'not found in its registry');
    assert.equal(
      shortPullReason(
        'pinging container registry 10.0.0.7:5000: Get "https://10.0.0.7:5000/v2/": dial tcp 10.0.0.7:5000: connect: connection refused',
      ),
      'its registry could not be reached',
    );
    assert.equal(shortPullReason('dial tcp 10.0.0.7:5001: i/o timeout'), 'its registry could not be reached');
    assert.equal(shortPullReason('unauthorized: authentication required'), 'access denied by its registry');
  });
});

describe('log followers', () => {
  it('allows 4 per pod and 64 in all, and gives slots back once', () => {
    const followers = createLogFollowers(4, 6);
    const releases = [1, 2, 3, 4].map(() => followers.acquire('a'));
    assert.throws(
      () => followers.acquire('a'),
      (error: unknown) => answerOf(error).status === 429,
    );
    followers.acquire('b');
    followers.acquire('b');
    assert.throws(
      () => followers.acquire('c'),
      (error: unknown) => /this host already serves 6/.test(answerOf(error).message),
    );
    releases[0]?.();
    releases[0]?.();
    assert.equal(followers.open(), 5);
    followers.acquire('c');
  });
});

describe('container filesystem by OCI runtime', () => {
  const hash: ManifestHash = 'a'.repeat(52);
  const container = {
    id: 'app',
    name: `${hash}__app`,
    image: 'registry.example/app@sha256:' + 'b'.repeat(64),
    env: [],
  };

  it('runc: a read-only root with tmpfs directories that start with the image’s files', () => {
    const spec = containerSpec(hash, container, 'host', hardeningFor('runc'));
    assert.equal(spec.read_only_filesystem, true);
    const mounts = spec.mounts as { destination: string; options: string[] }[];
    assert.deepEqual(
      mounts.map((m) => m.destination),
      WRITABLE_DIRS,
    );
    assert.ok(mounts.every((m) => m.options.includes('tmpcopyup')));
  });

  it('runsc: no tmpfs over the image’s directories; the wrapper gives the root a memory overlay', async () => {
    const spec = containerSpec(hash, container, 'host', hardeningFor('runsc'));
    assert.equal(spec.read_only_filesystem, false);
    assert.equal(spec.mounts, undefined);
    const dir = await tempDir();
    const saved = process.env.PATH;
    process.env.PATH = dir;
    try {
      await writeFile(join(dir, 'runsc'), '#!/bin/sh\n', { mode: 0o755 });
      const wrapper = await prepareOciRuntime('runsc', dir);
      assert.match(await readFile(wrapper, 'utf8'), /--network=host --overlay2=root:memory "\$@"/);
    } finally {
      process.env.PATH = saved;
    }
  });
});
