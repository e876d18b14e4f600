// `codiusd setup` as a process, the way an operator or a provisioning script runs it: flags only, no
// terminal. It runs in a network namespace of its own, so that the doctor it ends with sends nothing off
// this machine (its DNS and connection checks fail at once there).
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCommand, type CommandResult } from '../helpers/run-command.js';
import { tempDir } from '../helpers/tmp.js';

const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const TSIG_SECRET = 'dGVzdC10c2lnLXNlY3JldC1mb3Itc2V0dXA=';

function setup(args: string[]): Promise<CommandResult> {
  return runCommand('unshare', ['--net', process.execPath, MAIN, '--', 'setup', ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      // Coverage of the child, when the suite measures it.
      ...(process.env.NODE_V8_COVERAGE ? { NODE_V8_COVERAGE: process.env.NODE_V8_COVERAGE } : {}),
    },
  });
}

describe('codiusd setup', () => {
  it('writes the configuration and the key from flags, runs the doctor, and lists what is left', async () => {
    const dir = await tempDir('codiusd-setup-');
    // Directories that do not exist yet, as /etc/codiusd on a host set up from a checkout.
    const envFile = join(dir, 'etc', 'codiusd.env');
    const keyFile = join(dir, 'keys', 'open-payments.pem');
    const flags = [
      ...['--yes', '--no-podman', '--env-file', envFile, '--host', 'codius.test'],
      ...['--wallet', 'https://wallet.example/codius', '--private-key', keyFile],
      ...['--acme-email', 'ops@example.com', '--rfc2136-server', '127.0.0.1:5353'],
      ...['--tsig-name', 'codiusd-acme', '--tsig-secret', TSIG_SECRET],
    ];
    const first = await setup(flags);
    assert.equal(first.code, 0, first.output);
    assert.match(first.output, /Made the Open Payments key/);
    assert.match(first.output, /Wrote .*codiusd\.env \(mode 600\)/);
    assert.match(first.output, /Configuration\s+production, public URI https:\/\/codius\.test/);
    assert.match(first.output, /Register this public key/);
    assert.match(first.output, /systemctl enable --now codiusd/);
    assert.ok(!first.output.includes(TSIG_SECRET), 'the TSIG secret is not printed');
    assert.equal((await stat(envFile)).mode & 0o777, 0o600);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'etc'))).mode & 0o777, 0o700);
    const written = await readFile(envFile, 'utf8');
    const keyId = /^CODIUS_OPEN_PAYMENTS_KEY_ID=(.+)$/m.exec(written)?.[1] ?? assert.fail(written);
    assert.match(written, /^CODIUS_ACME_RFC2136_TSIG_SECRET=/m);

    // The key exists now: only its provider knows its id.
    const noId = await setup(flags);
    assert.equal(noId.code, 2, noId.output);
    assert.match(noId.output, /--key-id is needed/);
    const same = await setup([...flags, '--key-id', keyId]);
    assert.equal(same.code, 0, same.output);
    assert.match(same.output, /already holds this configuration/);

    const other = await setup([...flags, '--key-id', keyId, '--host', 'other.test']);
    assert.equal(other.code, 1, other.output);
    assert.match(other.output, /already sets variables; not replaced\. Run again with --force/);
    assert.equal(await readFile(envFile, 'utf8'), written);

    const bad = await setup(['--frobnicate']);
    assert.equal(bad.code, 2);
    assert.match(bad.output, /unknown setup argument "--frobnicate"/);
  });
});
