import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NODE_MODULES = fileURLToPath(new URL('../../../node_modules/', import.meta.url));

/**
 * The packages `names` need to run, from this checkout's node_modules: the names and every dependency
 * that sits at the top level (dependencies nested inside a package travel with it).
 */
export function dependencyClosure(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const visited = new Set<string>();
  const dependenciesOf = (dir: string): string[] =>
    Object.keys(
      (
        JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
          dependencies?: Record<string, string>;
        }
      ).dependencies ?? {},
    );
  /** Resolves `name` from the package at `from` as Node would: nested first, then the top level. */
  const visit = (name: string, from: string): void => {
    const nested = join(from, 'node_modules', name);
    const dir = existsSync(join(nested, 'package.json')) ? nested : join(NODE_MODULES, name);
    if (visited.has(dir) || !existsSync(join(dir, 'package.json'))) return;
    visited.add(dir);
    if (dir === join(NODE_MODULES, name)) seen.add(name);
    for (const dependency of dependenciesOf(dir)) visit(dependency, dir);
  };
  for (const name of names) visit(name, NODE_MODULES);
  return [...seen].sort();
}
