// What keeps pods contained, as logic: the conditions checked before pods run (device nodes, the pod
// network, the firewall), the cut-off when the firewall cannot be restored, the stdio hook's choice of
// descriptors, and the nft command surviving a program that exits without reading its script.
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createContainment, ContainmentError } from '../../src/firewall/containment.js';
import type { BridgeLink } from '../../src/firewall/bridge-link.js';
import { createNft, NftError } from '../../src/firewall/nft.js';
import type { PodFirewall } from '../../src/firewall/pod-firewall.js';
import {
  deviceProblems,
  HOST_DEVICES,
  HostDevicesError,
  requireHostDevices,
  type DeviceStat,
} from '../../src/host/device-nodes.js';
import { describePodNetwork } from '../../src/runtime/pod-network.js';
import { containerPid, stdioPipes, type ProcReader } from '../../src/runtime/podman/stdio-owner.js';
import { capturingLogger } from '../helpers/logs.js';
import { tempDir } from '../helpers/tmp.js';

const expected = describePodNetwork('codius', '10.89.240.0/20');

function fakeLink(): BridgeLink & { down: Set<string>; calls: string[] } {
  const link = {
    down: new Set<string>(),
    calls: [] as string[],
    set(bridge: string, up: boolean) {
      link.calls.push(`${bridge} ${up ? 'up' : 'down'}`);
      if (up) link.down.delete(bridge);
      else link.down.add(bridge);
      return Promise.resolve(true);
    },
    isDown: (bridge: string) => Promise.resolve(link.down.has(bridge)),
  };
  return link;
}

function fakeFirewall(): PodFirewall & { broken: boolean; ensured: string[] } {
  const firewall = {
    table: 'codius',
    broken: false,
    ensured: [] as string[],
    apply: () => Promise.resolve(),
    ensure(network: { bridge: string }) {
      firewall.ensured.push(network.bridge);
      return firewall.broken
        ? Promise.reject(new NftError('nft: not permitted'))
        : Promise.resolve('present' as const);
    },
    listing: () => Promise.resolve(null),
  };
  return firewall;
}

describe('pod containment', () => {
  it('guards the bridge the runtime reports, not the configured name', async () => {
    const firewall = fakeFirewall();
    const containment = createContainment({
      expected,
      podNetwork: () => Promise.resolve({ ...expected, bridge: 'podman1' }),
      firewall,
      devices: () => Promise.resolve(),
      link: fakeLink(),
      logger: capturingLogger().logger,
    });
    await containment.check();
    assert.deepEqual(firewall.ensured, ['podman1']);
  });

  it('cuts the pods off while the firewall cannot be restored, and reconnects them once it is', async () => {
    const firewall = fakeFirewall();
    const link = fakeLink();
    const { logger, lines } = capturingLogger();
    const containment = createContainment({
      expected,
      podNetwork: () => Promise.resolve(expected),
      firewall,
      devices: () => Promise.resolve(),
      link,
      logger,
    });
    firewall.broken = true;
    await assert.rejects(containment.check(), NftError);
    assert.ok(link.down.has('codius0'));
    await assert.rejects(containment.check(), NftError);
    assert.deepEqual(link.calls, ['codius0 down'], 'cut once');
    firewall.broken = false;
    await containment.check();
    assert.equal(link.down.has('codius0'), false);
    assert.ok(lines().some((line) => /pods are cut off/.test(String(line.msg))));
    assert.ok(lines().some((line) => /pods are on the network again/.test(String(line.msg))));
  });

  it('keeps guarding the last known network while the runtime does not answer', async () => {
    const firewall = fakeFirewall();
    let answering = true;
    const containment = createContainment({
      expected,
      podNetwork: () => (answering ? Promise.resolve(expected) : Promise.reject(new Error('ECONNREFUSED'))),
      firewall,
      devices: () => Promise.resolve(),
      link: fakeLink(),
      logger: capturingLogger().logger,
    });
    await containment.check();
    answering = false;
    await containment.check();
    assert.deepEqual(firewall.ensured, ['codius0', 'codius0']);
  });

  it('refuses a network whose subnet is not the configured one, saying what to set', async () => {
    const containment = createContainment({
      expected,
      podNetwork: () => Promise.resolve(describePodNetwork('codius', '10.88.0.0/16')),
      firewall: fakeFirewall(),
      devices: () => Promise.resolve(),
      link: fakeLink(),
      logger: capturingLogger().logger,
    });
    await assert.rejects(containment.check(), (error: unknown) => {
      assert.ok(error instanceof ContainmentError);
      assert.match(
        error.message,
        /uses subnet 10\.88\.0\.0\/16 .* set CODIUS_PODMAN_SUBNET=10\.88\.0\.0\/16/,
      );
      return true;
    });
  });

  it('lets no pod run while the device nodes are changed, firewall or not', async () => {
    const containment = createContainment({
      expected,
      podNetwork: () => Promise.resolve(expected),
      devices: () =>
        Promise.reject(new HostDevicesError([{ path: '/dev/null', found: 'owner 1000:1000, mode 600' }])),
      link: fakeLink(),
      logger: capturingLogger().logger,
    });
    await assert.rejects(
      containment.check(),
      /\/dev\/null \(owner 1000:1000, mode 600\).*chown root:root \/dev\/null && chmod 666 \/dev\/null/,
    );
  });
});

describe('host device nodes', () => {
  const device = (
    uid: number,
    mode: number,
    rdev: number,
    options: { gid?: number; char?: boolean } = {},
  ): DeviceStat => ({
    isCharacterDevice: () => options.char ?? true,
    uid,
    gid: options.gid ?? uid,
    mode: ((options.char ?? true) ? 0o020000 : 0o120000) | mode,
    rdev,
  });
  const NULL = 0x103;
  const TTY = 0x500;

  it('accepts the root-owned character devices with mode 666 and names every other one', async () => {
    const nodes: Record<string, DeviceStat> = {
      '/dev/null': device(0, 0o666, NULL),
      '/dev/tty': device(0, 0o666, TTY, { gid: 5 }),
      '/dev/zero': device(2147483647, 0o666, 0x105),
      '/dev/full': device(0, 0o600, 0x107),
      '/dev/urandom': device(0, 0o777, 0x109, { char: false }),
      // /dev/mem, made under the name of /dev/random with the right owner and mode.
      '/dev/random': device(0, 0o666, 0x101),
    };
    const statOf = (path: string) =>
      nodes[path] ? Promise.resolve(nodes[path]) : Promise.reject(new Error('ENOENT'));
    const subset = (...paths: string[]) =>
      new Map(paths.map((path) => [path, HOST_DEVICES.get(path) ?? { major: 0, minor: 0 }]));
    assert.deepEqual(
      await deviceProblems(statOf, subset('/dev/null', '/dev/tty')),
      [],
      '/dev/tty may be the tty group’s',
    );
    assert.deepEqual(
      await deviceProblems(statOf, subset('/dev/zero', '/dev/full', '/dev/urandom', '/dev/random')),
      [
        { path: '/dev/zero', found: 'owner 2147483647:2147483647, mode 666' },
        { path: '/dev/full', found: 'owner 0:0, mode 600' },
        { path: '/dev/urandom', found: 'not a character device' },
        { path: '/dev/random', found: 'device 1:1, not 1:8' },
      ],
    );
    const missing = new Map([['/dev/gone', { major: 1, minor: 3 }]]);
    assert.deepEqual(await deviceProblems(statOf, missing), [{ path: '/dev/gone', found: 'missing' }]);
    await assert.rejects(requireHostDevices(statOf, subset('/dev/zero', '/dev/random')), (error: unknown) => {
      assert.ok(error instanceof HostDevicesError);
      assert.match(
        error.message,
        /chown root:root \/dev\/zero && chmod 666 \/dev\/zero; restart the machine to recreate \/dev\/random/,
      );
      return true;
    });
  });

  it('finds this machine’s devices as they must be', async () => {
    assert.deepEqual(await deviceProblems(), []);
  });
});

describe('stdio hook', () => {
  /** A process tree: the container's process, the OCI runtime, conmon; fds as links. */
  function proc(
    links: Record<string, string>,
    comms: Record<number, string>,
    parents: Record<number, number>,
  ): ProcReader {
    return {
      read(path) {
        const [, pid, file] = /^\/proc\/(\d+)\/(\w+)$/.exec(path) ?? [];
        if (file === 'comm') return comms[Number(pid)] !== undefined ? `${comms[Number(pid)]}\n` : null;
        if (file === 'stat') return `${pid} (some (odd) name) S ${parents[Number(pid)] ?? 1} 0 0`;
        return null;
      },
      readlink: (path) => links[path] ?? null,
      list: (path) =>
        Object.keys(links)
          .filter((link) => link.startsWith(`${path}/`))
          .map((link) => link.slice(path.length + 1)),
      owner: () => ({ uid: 2147483647, gid: 2147483647 }),
    };
  }
  const tree = {
    comms: { 100: 'runc:[2:INIT]', 90: 'runc', 80: 'conmon' },
    parents: { 100: 90, 90: 80, 80: 1 },
  };

  it('reads the pid from the state as JSON, whatever the annotations say', () => {
    assert.equal(containerPid('{"ociVersion":"1.0.2","pid":4242,"annotations":{"x":"\\"pid\\": 1"}}'), 4242);
    assert.equal(containerPid('{"pid":"4242"}'), null);
    assert.equal(containerPid('{"pid":1}'), null);
    assert.equal(containerPid('not json'), null);
    assert.equal(containerPid('null'), null);
  });

  it('hands over only pipes that conmon holds: never the host’s /dev/null, a file or a foreign pipe', () => {
    const links = {
      '/proc/100/fd/0': '/dev/null',
      '/proc/100/fd/1': 'pipe:[501]',
      '/proc/100/fd/2': 'pipe:[777]',
      '/proc/80/fd/9': 'pipe:[501]',
      '/proc/80/fd/11': 'pipe:[502]',
      '/proc/80/fd/1': '/dev/null',
    };
    assert.deepEqual(stdioPipes(proc(links, tree.comms, tree.parents), 100), [{ fd: 1, inode: 501n }]);
  });

  it('hands over nothing when no conmon is among the process’s ancestors', () => {
    const links = { '/proc/100/fd/1': 'pipe:[501]', '/proc/80/fd/9': 'pipe:[501]' };
    assert.deepEqual(stdioPipes(proc(links, { ...tree.comms, 80: 'bash' }, tree.parents), 100), []);
  });
});

describe('nft command', () => {
  it('reports a program that exits without reading its script as a failure, and does not crash', async () => {
    const dir = await tempDir();
    const quitter = join(dir, 'nft');
    await writeFile(quitter, '#!/bin/sh\necho "Error: gone" >&2\nexit 1\n');
    await chmod(quitter, 0o755);
    const script = `${'# padding\n'.repeat(200_000)}table inet codius\n`;
    await assert.rejects(createNft(quitter).apply(script), /could not apply the pod firewall: Error: gone/);
    assert.equal(
      await createNft(quitter)
        .listTable('inet', 'codius')
        .catch((e: unknown) => (e as Error).message),
      'could not read table inet codius: Error: gone',
    );
  });
});
