import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { LocalImageSource } from '../runtime/driver.js';
import { SELF_TEST_POD_APP } from './pod-app.js';

const execFileAsync = promisify(execFile);

export const SELF_TEST_IMAGE_NAME = 'localhost/codiusd-self-test';

/** The binary and every shared library `ldd` says it loads, at their own paths under `rootfs`. */
export async function copyWithLibraries(rootfs: string, binary: string): Promise<void> {
  const { stdout } = await execFileAsync('ldd', [binary]);
  const libraries = stdout
    .split('\n')
    .map((line) => /(\/\S+) \(0x/.exec(line)?.[1])
    .filter((path): path is string => path !== undefined);
  for (const file of [binary, ...libraries]) {
    await mkdir(join(rootfs, dirname(file)), { recursive: true });
    await copyFile(file, join(rootfs, file));
  }
}

/** A tar of `dir` as a stream; a failing tar ends the stream with its error. */
function tarOf(dir: string): Readable {
  const out = new PassThrough();
  const tar = spawn('tar', ['-C', dir, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  tar.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
  tar.stdout.pipe(out, { end: false });
  tar.once('error', (error) => out.destroy(error));
  tar.once('close', (code) => {
    if (code === 0) out.end();
    else out.destroy(new Error(`tar of ${dir} exited with ${String(code)}: ${errors.trim()}`));
  });
  return out;
}

/**
 * The self test's image: this host's Node binary with its libraries and the pod program, nothing else.
 * The tag names the content (Node version, program), so a host imports it once per upgrade.
 */
export async function selfTestImageSource(
  workDir: string,
  nodeBinary = process.execPath,
): Promise<LocalImageSource> {
  const rootfs = join(workDir, 'rootfs');
  await rm(rootfs, { recursive: true, force: true });
  await copyWithLibraries(rootfs, nodeBinary);
  await mkdir(join(rootfs, 'app'), { recursive: true });
  await mkdir(join(rootfs, 'tmp'), { recursive: true });
  await writeFile(join(rootfs, 'app', 'server.mjs'), SELF_TEST_POD_APP);
  const tag = createHash('sha256')
    .update(`${process.version}\n${nodeBinary}\n${SELF_TEST_POD_APP}`)
    .digest('hex')
    .slice(0, 16);
  return {
    name: SELF_TEST_IMAGE_NAME,
    tag,
    cmd: [nodeBinary, '/app/server.mjs'],
    rootfsTar: () => tarOf(rootfs),
  };
}
