import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createNft, NftError } from '../../src/firewall/nft.js';
import {
  checkUserNamespaceIds,
  OciRuntimeError,
  prepareOciRuntime,
} from '../../src/runtime/podman/oci-runtime.js';
import { createRegistryPolicy } from '../../src/runtime/registry-policy.js';
import { tempDir } from '../helpers/tmp.js';

/** A stand-in `nft` that answers as the real one does when refused or asked for a missing table. */
async function fakeNftBinary(stderr: string, code: number): Promise<string> {
  const path = join(await tempDir(), 'nft');
  await writeFile(path, `#!/bin/sh\ncat >/dev/null\necho '${stderr}' >&2\nexit ${code}\n`);
  await chmod(path, 0o755);
  return path;
}

describe('nft', () => {
  it('says what to install when nft is missing, and what to do when it is not permitted', async () => {
    await assert.rejects(createNft('/nonexistent/nft').apply(''), (error: unknown) => {
      assert.ok(error instanceof NftError);
      assert.match(error.message, /is not installed: install the nftables package/);
      return true;
    });
    const refused = createNft(
      await fakeNftBinary('Error: Could not process rule: Operation not permitted', 1),
    );
    await assert.rejects(
      refused.apply('table inet x {}'),
      /not permitted \(codiusd must run as root, or with CAP_NET_ADMIN\)/,
    );
    await assert.rejects(refused.listTable('inet', 'x'), /could not read table inet x: .*not permitted/);
  });

  it('reads a missing table as null', async () => {
    const missing = createNft(
      await fakeNftBinary('Error: No such file or directory; did you mean table ‘codius’', 1),
    );
    assert.equal(await missing.listTable('inet', 'codius'), null);
  });
});

describe('OCI runtime and user namespace preconditions', () => {
  it('names the package to install when the runtime is missing', async () => {
    const saved = process.env.PATH;
    process.env.PATH = await tempDir();
    try {
      await assert.rejects(prepareOciRuntime('runsc', await tempDir()), (error: unknown) => {
        assert.ok(error instanceof OciRuntimeError);
        assert.match(error.message, /runsc is not installed: apt-get install runsc/);
        return true;
      });
    } finally {
      process.env.PATH = saved;
    }
  });

  it('asks for subordinate ids of the containers user when they are missing', async () => {
    await assert.rejects(
      checkUserNamespaceIds(() => Promise.resolve('someone:100000:65536\n')),
      /add "containers:2147483647:2147483648" to \/etc\/subuid/,
    );
    await checkUserNamespaceIds(() => Promise.resolve('containers:2147483647:2147483648\n'));
  });
});

describe('registry policy with the system resolver', () => {
  it('refuses localhost, which resolves to loopback', async () => {
    const policy = createRegistryPolicy({ allowPrivate: false, allowed: [] });
    await assert.rejects(
      policy.check('localhost:5000/app@sha256:1'),
      /resolves to an address that is not public/,
    );
  });
});
