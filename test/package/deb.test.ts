// The Debian package as an operator meets it: its files, lintian, the same bytes from the same checkout,
// `apt install` on fresh Debian 12 and 13 roots made with debootstrap, the commands inside them, the unit
// as each release's systemd reads it, and an upgrade from the previous build and a purge, with their
// maintainer scripts.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildPackage, controlField, previousBuild } from './build-package.js';
import {
  DEBIAN_RELEASES,
  freshDebianRoot,
  mustRun,
  runCommand,
  type DebianRelease,
  type DebianRoot,
} from './debian-root.js';

const sha256 = async (path: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

let deb: string;
let previous: Promise<{ path: string; version: string }> | undefined;
const roots: DebianRoot[] = [];
const made: string[] = [];

/** The previous build an upgrade starts from, made once for every release. */
function previousOnce(): Promise<{ path: string; version: string }> {
  previous ??= previousBuild(deb).then((build) => {
    made.push(dirname(build.path));
    return build;
  });
  return previous;
}

before(async () => {
  deb = await buildPackage();
  made.push(dirname(deb));
});
after(async () => {
  for (const root of roots) await root.remove();
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

describe('Debian package: contents', () => {
  it('holds the daemon, its own Node.js 24, the unit, the conffile and the data directory, nothing of the development tree', async () => {
    const listing = await mustRun('dpkg-deb', ['--contents', deb]);
    const size = (await stat(deb)).size;
    const files = listing.split('\n').filter(Boolean);
    console.log(
      `# ${deb.split('/').pop()}: ${(size / 2 ** 20).toFixed(1)} MiB, ${files.length} entries, Installed-Size ${await controlField(deb, 'Installed-Size')} KiB`,
    );
    const entry = (path: string): string =>
      files.find((line) => line.endsWith(` ./${path}`) || line.includes(` ./${path} -> `)) ?? '';
    assert.match(entry('usr/bin/codiusd'), /^lrwxrwxrwx root\/root .* -> \.\.\/lib\/codiusd\/bin\/codiusd$/);
    assert.match(entry('usr/lib/codiusd/bin/codiusd'), /^-rwxr-xr-x root\/root/);
    assert.match(entry('usr/lib/codiusd/node/bin/node'), /^-rwxr-xr-x root\/root/);
    assert.match(entry('usr/lib/codiusd/dist/src/main.js'), /^-rw-r--r-- root\/root/);
    assert.match(
      entry('usr/lib/codiusd/node_modules/sqlite3/build/Release/node_sqlite3.node'),
      /^-rw-r--r--/,
    );
    assert.match(entry('usr/lib/codiusd/scripts/setup-podman.sh'), /^-rwxr-xr-x/);
    assert.match(entry('lib/systemd/system/codiusd.service'), /^-rw-r--r-- root\/root/);
    assert.match(entry('etc/codiusd/codiusd.env'), /^-rw------- root\/root/);
    assert.match(entry('var/lib/codiusd/'), /^drwx------ root\/root/);
    assert.match(entry('usr/share/man/man8/codiusd.8.gz'), /^-rw-r--r--/);
    assert.match(entry('usr/share/doc/codiusd/copyright'), /^-rw-r--r--/);
    const lib = './usr/lib/codiusd';
    const absent = [
      `${lib}/dist/test/`,
      `${lib}/dist/bench/`,
      `${lib}/dist/src/main.js.map`,
      `${lib}/node_modules/typescript/`,
      `${lib}/node_modules/c8/`,
      `${lib}/node_modules/eslint/`,
      `${lib}/node_modules/sqlite3/deps/`,
      `${lib}/node_modules/.bin/`,
    ];
    for (const path of absent)
      assert.ok(!files.some((line) => line.includes(` ${path}`)), `${path} is not shipped`);
    assert.equal(
      (await mustRun('dpkg-deb', ['--info', deb, 'conffiles'])).trim(),
      '/etc/codiusd/codiusd.env',
    );
    const depends = await controlField(deb, 'Depends');
    for (const needed of ['libc6 (>=', 'podman', 'netavark', 'nftables', 'haproxy', 'uidmap']) {
      assert.ok(depends.includes(needed), `Depends names ${needed}: ${depends}`);
    }
  });

  it('is the same bytes when built again from the same checkout', async () => {
    const again = await buildPackage();
    made.push(dirname(again));
    assert.equal(await sha256(again), await sha256(deb));
  });

  it('passes lintian without errors', async () => {
    const result = await runCommand('lintian', [
      '--fail-on',
      'error',
      '--display-level',
      '>=warning',
      '--tag-display-limit',
      '0',
      deb,
    ]);
    console.log(`# lintian (exit ${String(result.code)}):\n${result.output.replace(/^/gm, '#   ')}`);
    assert.equal(result.code, 0, result.output);
    assert.doesNotMatch(result.output, /^E: /m);
  });
});

const releases = Object.entries(DEBIAN_RELEASES) as [DebianRelease, number][];
for (const [release, number] of releases) {
  describe(`Debian package: on a fresh Debian ${number} (${release})`, () => {
    let box: DebianRoot;
    before(async () => {
      box = await freshDebianRoot(release);
      roots.push(box);
    });

    it('installs with apt, with everything it depends on; the commands run inside', async () => {
      await copyFile(deb, join(box.dir, 'tmp/codiusd.deb'));
      const update = await box.run(['apt-get', 'update', '-qq']);
      assert.equal(update.code, 0, update.output);
      const install = await box.run([
        'apt-get',
        'install',
        '-y',
        '-q',
        '--no-install-recommends',
        '/tmp/codiusd.deb',
      ]);
      assert.equal(install.code, 0, install.output);
      assert.match(install.output, /codiusd: run 'codiusd setup'/);

      const version = await box.run(['codiusd', '--version'], { offline: true });
      assert.equal(version.code, 0, version.output);
      assert.match(version.output, /^\S+ \(Node\.js 24\.\d+\.\d+\)\n$/);
      const help = await box.run(['codiusd', '--help'], { offline: true });
      assert.match(help.output, /codiusd setup \[--env-file FILE\]/);
      assert.match(help.output, /CODIUS_ACME_RFC2136_TSIG_SECRET/);
      const man = await box.run(['sh', '-c', 'zcat /usr/share/man/man8/codiusd.8.gz | head -3']);
      assert.match(man.output, /^\.TH CODIUSD 8/);
      assert.equal((await stat(join(box.dir, 'var/lib/codiusd'))).mode & 0o777, 0o700);

      // Setup replaces the packaged file (comments only) without asking; the doctor runs on what it wrote.
      const setup = await box.run(
        [
          'codiusd',
          'setup',
          '--yes',
          '--no-podman',
          '--host',
          'codius.test',
          '--payment',
          'moneyd',
          '--no-acme',
        ],
        { offline: true },
      );
      assert.equal(setup.code, 0, setup.output);
      assert.match(setup.output, /Wrote \/etc\/codiusd\/codiusd\.env \(mode 600\)/);
      assert.match(setup.output, /Configuration\s+production, public URI https:\/\/codius\.test/);
      assert.match(setup.output, /systemctl enable --now codiusd/);
      assert.equal((await stat(join(box.dir, 'etc/codiusd/codiusd.env'))).mode & 0o777, 0o600);
      // The unit as installed, read by the systemd of the root.
      const systemd = await box.run(['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'systemd']);
      assert.equal(systemd.code, 0, systemd.output);
      const verify = await box.run(['systemd-analyze', 'verify', '/lib/systemd/system/codiusd.service'], {
        offline: true,
      });
      assert.equal(verify.code, 0, verify.output);
      assert.doesNotMatch(verify.output, /codiusd\.service:/);

      const doctor = await box.run(['codiusd', 'doctor', '--env-file', '/etc/codiusd/codiusd.env'], {
        offline: true,
      });
      assert.match(doctor.output, /Data directory/);
      assert.match(doctor.output, /check\(s\) failed/, 'no Podman service and no moneyd in the root');
    });

    it('upgrades from the previous build keeping the configuration and data; purge keeps data unless asked', async () => {
      const previous = await previousOnce();
      await writeFile(join(box.dir, 'var/lib/codiusd/marker'), 'kept');
      const configured = await readFile(join(box.dir, 'etc/codiusd/codiusd.env'), 'utf8');
      await copyFile(previous.path, join(box.dir, 'tmp/previous.deb'));
      const down = await box.run([
        'apt-get',
        'install',
        '-y',
        '-q',
        '--allow-downgrades',
        '/tmp/previous.deb',
      ]);
      assert.equal(down.code, 0, down.output);
      const up = await box.run(['apt-get', 'install', '-y', '-q', '/tmp/codiusd.deb']);
      assert.equal(up.code, 0, up.output);
      assert.match(up.output, /Unpacking codiusd \(.*\) over \(.*~previous-1\)/);
      assert.equal(
        (await box.run(['dpkg-query', '-W', '-f', '${Version}', 'codiusd'])).output,
        await controlField(deb, 'Version'),
      );
      assert.equal(
        await readFile(join(box.dir, 'etc/codiusd/codiusd.env'), 'utf8'),
        configured,
        'the operator’s file is kept',
      );
      assert.equal(await readFile(join(box.dir, 'var/lib/codiusd/marker'), 'utf8'), 'kept');

      const purge = await box.run(['apt-get', 'purge', '-y', '-q', 'codiusd']);
      assert.equal(purge.code, 0, purge.output);
      assert.match(purge.output, /kept \/var\/lib\/codiusd/);
      assert.equal(await readFile(join(box.dir, 'var/lib/codiusd/marker'), 'utf8'), 'kept');
      await assert.rejects(stat(join(box.dir, 'usr/lib/codiusd')), 'the package’s files are gone');
      await assert.rejects(stat(join(box.dir, 'etc/codiusd/codiusd.env')), 'purge removes the conffile');

      const again = await box.run(['apt-get', 'install', '-y', '-q', '/tmp/codiusd.deb']);
      assert.equal(again.code, 0, again.output);
      const asked = await box.run(['apt-get', 'purge', '-y', '-q', 'codiusd'], {
        env: { CODIUSD_PURGE_DATA: 'yes' },
      });
      assert.equal(asked.code, 0, asked.output);
      await assert.rejects(stat(join(box.dir, 'var/lib/codiusd')), 'CODIUSD_PURGE_DATA=yes removes the data');
    });
  });
}
