import assert from 'node:assert/strict';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ensureRootDir } from '../../src/root-dir.js';
import { loadOrCreateHostSecret, SecretFileError } from '../../src/secret.js';
import { tempDir } from '../helpers/tmp.js';

describe('host secret and root directory', () => {
  it('creates 32 random bytes as base64 with mode 0600, then keeps them', async () => {
    const root = await tempDir();
    const first = await loadOrCreateHostSecret(root);
    assert.equal(first.created, true);
    assert.equal(first.secret.length, 32);
    const file = join(root, 'secret');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal(await readFile(file, 'utf8'), first.secret.toString('base64'));

    const second = await loadOrCreateHostSecret(root);
    assert.equal(second.created, false);
    assert.ok(second.secret.equals(first.secret));
  });

  it('reads the spec vector file and tightens loose permissions', async () => {
    const root = await tempDir();
    const file = join(root, 'secret');
    await writeFile(file, 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n');
    await chmod(file, 0o644);
    const { secret } = await loadOrCreateHostSecret(root);
    assert.ok(secret.equals(Buffer.alloc(32, 1)));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('refuses a malformed secret instead of replacing it', async () => {
    const root = await tempDir();
    const file = join(root, 'secret');
    await writeFile(file, 'dG9vIHNob3J0');
    await assert.rejects(loadOrCreateHostSecret(root), SecretFileError);
    assert.equal(await readFile(file, 'utf8'), 'dG9vIHNob3J0', 'left untouched');
  });

  it('creates CODIUS_ROOT with mode 0700 and warns about a loose existing one', async () => {
    const parent = await tempDir();
    const root = join(parent, 'a', 'b');
    assert.deepEqual(await ensureRootDir(root), { created: true });
    assert.equal((await stat(root)).mode & 0o777, 0o700);
    assert.deepEqual(await ensureRootDir(root), { created: false });
    await chmod(root, 0o755);
    assert.match((await ensureRootDir(root)).warning ?? '', /accessible to other users/);
    await writeFile(join(parent, 'file'), '');
    await assert.rejects(ensureRootDir(join(parent, 'file')), /not a directory/);
  });
});
