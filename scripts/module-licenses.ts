/**
 * Lists the npm packages under a node_modules directory, one line each: path, version, license; sorted,
 * so that the Debian package's list is the same for the same dependencies.
 * Usage: node dist/scripts/module-licenses.js <node_modules directory>
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

interface PackageJson {
  name?: string;
  version?: string;
  license?: string | { type?: string };
  licenses?: { type?: string }[];
}

function licenseOf(manifest: PackageJson): string {
  const { license, licenses } = manifest;
  if (typeof license === 'string') return license;
  if (license?.type) return license.type;
  const types = (licenses ?? []).map((entry) => entry.type).filter(Boolean);
  return types.length > 0 ? types.join(' OR ') : 'UNKNOWN';
}

/** Every package directory below `dir`, scoped ones and nested node_modules included. */
function packageDirs(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const path = join(dir, name);
    if (!statSync(path).isDirectory()) continue;
    if (name.startsWith('@')) {
      found.push(...packageDirs(path));
      continue;
    }
    found.push(path);
    const nested = join(path, 'node_modules');
    if (statSync(nested, { throwIfNoEntry: false })?.isDirectory()) found.push(...packageDirs(nested));
  }
  return found;
}

const root = process.argv[2];
if (!root) {
  process.stderr.write('usage: module-licenses <node_modules directory>\n');
  process.exit(2);
}
for (const dir of packageDirs(root)) {
  const file = join(dir, 'package.json');
  if (!statSync(file, { throwIfNoEntry: false })) continue;
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
  process.stdout.write(`${relative(root, dir)} ${manifest.version ?? '?'} ${licenseOf(manifest)}\n`);
}
