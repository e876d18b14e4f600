// Builds the Debian package from this checkout with scripts/package-deb.sh, and the "previous" build an
// upgrade starts from: the same files with a lower version.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mustRun } from './debian-root.js';

export const PACKAGE_SCRIPT = fileURLToPath(new URL('../../../scripts/package-deb.sh', import.meta.url));

/** Builds the package into a new directory; its path. */
export async function buildPackage(env: Record<string, string> = {}): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), 'codiusd-deb-'));
  const args = [PACKAGE_SCRIPT, '--out', out];
  const vars = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  const printed = await mustRun('env', [...vars, 'bash', ...args], 1_800_000);
  const deb = printed.trim().split('\n').pop() ?? '';
  if (!deb.endsWith('.deb')) throw new Error(`package-deb.sh printed no package:\n${printed}`);
  return deb;
}

/** A field of the package's control file. */
export async function controlField(deb: string, field: string): Promise<string> {
  return (await mustRun('dpkg-deb', ['--field', deb, field])).trim();
}

/** The same package with a version that sorts before it (`~` sorts before anything in Debian). */
export async function previousBuild(deb: string): Promise<{ path: string; version: string }> {
  const version = (await controlField(deb, 'Version')).replace(/-(\d+)$/, '~previous-$1');
  const dir = await mkdtemp(join(tmpdir(), 'codiusd-deb-previous-'));
  const tree = join(dir, 'tree');
  await mustRun('dpkg-deb', ['--raw-extract', deb, tree]);
  const control = join(tree, 'DEBIAN', 'control');
  await writeFile(
    control,
    (await readFile(control, 'utf8')).replace(/^Version: .*$/m, `Version: ${version}`),
  );
  const path = join(dir, `codiusd_${version}.deb`);
  // Fast compression: this one only feeds the upgrade test.
  await mustRun('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z1', '--build', tree, path]);
  return { path, version };
}
