// A fresh Debian root for the package's tests (12 "bookworm" or 13 "trixie"): made once per release with
// debootstrap (minbase, Debian's own packages) and kept as a tarball in /var/cache/codiusd-ci, then unpacked
// anew for each test. Packages apt downloads inside it are kept in a cache per release too, so a second run
// downloads nothing.
import { mkdir, mkdtemp, rm, stat, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mustRun, runCommand, type CommandResult } from '../helpers/run-command.js';

export { mustRun, runCommand };

/** The Debian releases the package installs on, by codename, with their version number. */
export const DEBIAN_RELEASES = { bookworm: 12, trixie: 13 } as const;
export type DebianRelease = keyof typeof DEBIAN_RELEASES;

const CACHE = process.env.CODIUS_CI_CACHE ?? '/var/cache/codiusd-ci';
const MIRROR = process.env.CODIUS_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const tarballOf = (release: DebianRelease): string => join(CACHE, `debian-${release}-minbase.tar`);
const archivesOf = (release: DebianRelease): string => join(CACHE, `debian-${release}-archives`);

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The cached tarball of a minimal Debian release, made with debootstrap the first time. */
async function minbaseTarball(release: DebianRelease): Promise<string> {
  const tarball = tarballOf(release);
  if (await exists(tarball)) return tarball;
  await mkdir(CACHE, { recursive: true });
  const build = await mkdtemp(join(CACHE, 'debootstrap-'));
  try {
    await mustRun('debootstrap', ['--variant=minbase', release, build, MIRROR], 1_200_000);
    await mustRun('tar', ['-C', build, '-cf', `${tarball}.tmp`, '.']);
    await mustRun('mv', [`${tarball}.tmp`, tarball]);
  } finally {
    await rm(build, { recursive: true, force: true });
  }
  return tarball;
}

export interface DebianRoot {
  dir: string;
  /** Runs a command inside the root as root, with a plain environment; `offline` in a network namespace of its own. */
  run(
    args: readonly string[],
    options?: { offline?: boolean; env?: Record<string, string> },
  ): Promise<CommandResult>;
  remove(): Promise<void>;
}

/** A new Debian root with /proc, its release's apt archive cache, services kept from starting. */
export async function freshDebianRoot(release: DebianRelease): Promise<DebianRoot> {
  const tarball = await minbaseTarball(release);
  const archives = archivesOf(release);
  const dir = await mkdtemp(join(tmpdir(), 'codiusd-debian-'));
  const mounts: string[] = [];
  const remove = async (): Promise<void> => {
    for (const mount of mounts.reverse()) await runCommand('umount', ['--lazy', mount]);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await mustRun('tar', ['-C', dir, '-xf', tarball]);
    // Package scripts must not start services: nothing of this root may run on the test machine.
    await writeFile(join(dir, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    await copyFile('/etc/resolv.conf', join(dir, 'etc/resolv.conf'));
    await writeFile(join(dir, 'etc/hosts'), '127.0.0.1 localhost codius.test\n');
    await mkdir(archives, { recursive: true });
    await mkdir(join(dir, 'var/cache/apt/archives'), { recursive: true });
    await mustRun('mount', ['--bind', archives, join(dir, 'var/cache/apt/archives')]);
    mounts.push(join(dir, 'var/cache/apt/archives'));
    await mustRun('mount', ['-t', 'proc', 'proc', join(dir, 'proc')]);
    mounts.push(join(dir, 'proc'));
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    dir,
    run(args, options = {}) {
      const env = {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: '/root',
        LANG: 'C.UTF-8',
        DEBIAN_FRONTEND: 'noninteractive',
        ...options.env,
      };
      const chroot = ['chroot', dir, ...args];
      return options.offline
        ? runCommand('unshare', ['--net', ...chroot], { env })
        : runCommand(chroot[0] ?? 'chroot', chroot.slice(1), { env });
    },
    remove,
  };
}
