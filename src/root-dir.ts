import { chmod, mkdir, stat } from 'node:fs/promises';

/**
 * Creates CODIUS_ROOT with mode 0700 if missing. Returns a warning when an existing directory is open to
 * other users (it holds the host secret); the operator may have reasons, so it is not changed silently.
 */
export async function ensureRootDir(root: string): Promise<{ created: boolean; warning?: string }> {
  let created: boolean;
  try {
    created = (await mkdir(root, { recursive: true, mode: 0o700 })) !== undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new Error(`CODIUS_ROOT ${root} is not a directory`);
    throw error;
  }
  if (created) {
    await chmod(root, 0o700); // mkdir's mode is filtered by the umask
    return { created };
  }
  const info = await stat(root);
  if (!info.isDirectory()) throw new Error(`CODIUS_ROOT ${root} is not a directory`);
  if ((info.mode & 0o077) !== 0) {
    return {
      created,
      warning: `CODIUS_ROOT ${root} is accessible to other users (mode ${(info.mode & 0o777).toString(8)}); 0700 is advised`,
    };
  }
  return { created };
}
