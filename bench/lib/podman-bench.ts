import { execFile } from 'node:child_process';
import { copyFile, mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs the podman CLI and returns its trimmed stdout. */
export const podman = async (...args: string[]): Promise<string> => (await run('podman', args)).stdout.trim();

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

/** Imports a busybox image that serves "ok" with httpd on port 3000 into local storage as `image`. */
export async function importWebImage(dir: string, image: string): Promise<void> {
  const rootfs = join(dir, 'rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await mkdir(join(rootfs, 'www'), { recursive: true });
  await copyFile('/usr/bin/busybox', join(rootfs, 'bin', 'busybox'));
  await symlink('busybox', join(rootfs, 'bin', 'sh'));
  await run('sh', ['-c', `echo ok > ${rootfs}/www/index.html && tar -C ${rootfs} -cf ${dir}/rootfs.tar .`]);
  const cmd = 'CMD ["/bin/busybox","httpd","-f","-p","3000","-h","/www"]';
  await podman('import', '--quiet', '--change', cmd, `${dir}/rootfs.tar`, image);
}
