import { randomBytes } from 'node:crypto';
import { chmod, link, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const ADMIN_TOKEN_FILE = 'admin-token';
/** What a usable token looks like, whether set by the operator or generated (as CODIUS_ADMIN_TOKEN). */
const TOKEN_PATTERN = /^[\x21-\x7e]{16,512}$/;

/**
 * The admin listener's token when CODIUS_ADMIN_TOKEN is not set: `<root>/admin-token`, generated on first
 * start (32 random bytes, base64url) with mode 600 and kept across restarts. The operator reads it there;
 * it is never logged.
 */
export async function loadOrCreateAdminToken(
  root: string,
): Promise<{ token: string; path: string; created: boolean }> {
  const path = join(root, ADMIN_TOKEN_FILE);
  // Written whole under another name, then linked into place: a crash never leaves an empty token file,
  // and of two starts at once only one link succeeds (the other reads the winner's token).
  const draft = `${path}.${randomBytes(6).toString('hex')}`;
  const token = randomBytes(32).toString('base64url');
  const handle = await open(draft, 'wx', 0o600);
  try {
    await handle.writeFile(`${token}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(draft, path);
    return { token, path, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(draft, { force: true });
  }
  const kept = (await readFile(path, 'utf8')).trim();
  if (!TOKEN_PATTERN.test(kept)) {
    throw new Error(
      `admin token ${path} is not 16 to 512 printable characters: remove it to have a new one made`,
    );
  }
  await chmod(path, 0o600);
  return { token: kept, path, created: false };
}
