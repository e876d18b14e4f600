import { execFile } from 'node:child_process';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Copies a binary of this machine and every shared library `ldd` says it loads into `rootfs`, at the same
 * paths, so the binary runs in a container image built from that directory.
 */
export async function copyWithLibraries(rootfs: string, binary: string): Promise<void> {
  const libraries = (await run('ldd', [binary])).stdout
    .split('\n')
    .map((line) => /(\/\S+) \(0x/.exec(line)?.[1])
    .filter((path): path is string => path !== undefined);
  for (const file of [binary, ...libraries]) {
    await mkdir(join(rootfs, dirname(file)), { recursive: true });
    await copyFile(file, join(rootfs, file));
  }
}
