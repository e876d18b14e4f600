import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/config.js';
import { renderEnvFile, setsSomething } from '../../src/setup/env-file.js';
import { nextSteps } from '../../src/setup/next-steps.js';
import type { Answers, Question } from '../../src/setup/questions.js';
import { parseSetupArgs, SetupUsageError } from '../../src/setup/setup-args.js';
import {
  collectAnswers,
  runSetup,
  SetupRefusedError,
  type SetupDeps,
  type Terminal,
} from '../../src/setup/setup-command.js';

const TSIG_SECRET = 'c2VjcmV0LXRzaWcta2V5LWZvci10ZXN0cw==';
const RFC2136_FLAGS = [
  '--host',
  'codius.example.com',
  '--wallet',
  'https://wallet.example/host',
  '--acme-email',
  'ops@example.com',
  '--rfc2136-server',
  'ns1.example.com:53',
  '--tsig-name',
  'codiusd-acme',
  '--tsig-secret',
  TSIG_SECRET,
];

/** A terminal that answers from a script, and records what it was asked. */
function scriptedTerminal(replies: string[], confirmations: boolean[] = []): Terminal & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    ask(question: Question): Promise<string> {
      asked.push(question.flag);
      const reply = replies.shift();
      if (reply === undefined) throw new Error(`no scripted reply for ${question.flag}`);
      return Promise.resolve(reply);
    },
    confirm(prompt: string): Promise<boolean> {
      asked.push(`confirm: ${prompt}`);
      return Promise.resolve(confirmations.shift() ?? false);
    },
  };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codiusd-setup-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function fakeDeps(
  overrides: Partial<SetupDeps> = {},
): SetupDeps & { output: string[]; doctorEnv: Record<string, string>[] } {
  const output: string[] = [];
  const doctorEnv: Record<string, string>[] = [];
  return {
    output,
    doctorEnv,
    terminal: undefined,
    out: (text) => void output.push(text),
    now: () => new Date('2026-12-05T10:00:00Z'),
    fileExists: () => Promise.resolve(false),
    makeKey: () =>
      Promise.resolve({ keyId: 'made-key-id', jwk: { kty: 'OKP', kid: 'made-key-id', x: 'AAAA' } }),
    runPodmanSetup: () => Promise.resolve(),
    runDoctor: (env) => {
      doctorEnv.push(env);
      return Promise.resolve({ ok: false, text: '✗ Public URI  codius.example.com does not resolve' });
    },
    interfaceAddresses: () => ['127.0.0.1', '10.1.2.3', '203.0.113.9', '2001:db8::1', '2a01:4f8::7'],
    ...overrides,
  };
}

describe('codiusd setup: answers', () => {
  it('takes every answer from flags, with defaults for the rest under --yes', async () => {
    const options = parseSetupArgs([...RFC2136_FLAGS, '--yes', '--no-podman', '--env-file=/tmp/x.env']);
    assert.equal(options.envFile, '/tmp/x.env');
    assert.equal(options.podman, false);
    const answers = await collectAnswers(options, undefined);
    assert.equal(answers.payment, 'open-payments');
    assert.equal(answers.privateKey, '/etc/codiusd/open-payments.pem');
    assert.equal(answers.acme, 'yes');
    assert.equal(answers.acmeDns, 'rfc2136');
    assert.equal(answers.rfc2136Zone, 'codius.example.com', 'the zone defaults to the host name');
    assert.equal(answers.tsigAlgorithm, 'hmac-sha256');
  });

  it('names every flag it still needs when there is no terminal, and refuses bad values with the rule', async () => {
    await assert.rejects(
      collectAnswers(parseSetupArgs(['--host', 'codius.example.com']), undefined),
      (error: Error) =>
        error instanceof SetupUsageError &&
        /needs --wallet, --acme-email, --rfc2136-server, --tsig-name, --tsig-secret/.test(error.message),
    );
    await assert.rejects(
      collectAnswers(parseSetupArgs(['--host', 'not a host']), undefined),
      /--host must be a DNS name such as codius.example.com; got "not a host"/,
    );
    await assert.rejects(
      collectAnswers(parseSetupArgs([...RFC2136_FLAGS, '--tsig-secret', 'not base64!']), undefined),
      (error: Error) =>
        /--tsig-secret must be the base64 secret/.test(error.message) &&
        !error.message.includes('not base64!'),
    );
    await assert.rejects(
      collectAnswers(parseSetupArgs(['--payment', 'cash']), undefined),
      /--payment must be open-payments or moneyd; got "cash"/,
    );
    assert.throws(() => parseSetupArgs(['--frobnicate']), /unknown setup argument "--frobnicate"/);
    assert.throws(() => parseSetupArgs(['--host']), /--host needs a value/);
  });

  it('asks on a terminal for what the flags leave out, again after a bad answer, offering defaults', async () => {
    const terminal = scriptedTerminal(['Codius.Example.com_', 'codius.example.com', 'moneyd', 'no']);
    const answers = await collectAnswers(parseSetupArgs([]), terminal);
    assert.deepEqual(terminal.asked, [
      '--host',
      'confirm: --host must be a DNS name such as codius.example.com; got "Codius.Example.com_". Try again',
      '--host',
      '--payment',
      '--acme',
    ]);
    assert.equal(answers.payment, 'moneyd');
    assert.equal(answers.acme, 'no');
  });
});

describe('codiusd setup: the configuration', () => {
  const base: Answers = {
    host: 'codius.example.com',
    payment: 'open-payments',
    wallet: 'https://wallet.example/host',
    keyId: 'key-1',
    privateKey: '/etc/codiusd/open-payments.pem',
    acme: 'yes',
    acmeEmail: 'ops@example.com',
    acmeDns: 'rfc2136',
    rfc2136Server: 'ns1.example.com',
    rfc2136Zone: 'example.com',
    tsigName: 'codiusd-acme',
    tsigSecret: TSIG_SECRET,
    tsigAlgorithm: 'hmac-sha512',
    dnsHook: '',
  };
  const variants: [string, Answers][] = [
    ['Open Payments, ACME over RFC 2136', base],
    [
      'moneyd, ACME through a hook',
      { ...base, payment: 'moneyd', acmeDns: 'exec', dnsHook: '/usr/local/bin/dns-hook' },
    ],
    ['no ACME', { ...base, acme: 'no' }],
  ];
  for (const [name, answers] of variants) {
    it(`is a configuration the daemon accepts: ${name}`, () => {
      const env = parseEnv(renderEnvFile(answers, new Date()));
      const config = loadConfig(env, { executableExists: () => true });
      assert.equal(config.publicUri, 'https://codius.example.com');
      assert.equal(config.root, '/var/lib/codiusd');
      assert.equal(env.CODIUS_ACME === 'true', answers.acme === 'yes');
      assert.equal(env.CODIUS_BIND_IP, answers.acme === 'yes' ? '0.0.0.0' : '127.0.0.1');
      assert.equal(
        env.CODIUS_OPEN_PAYMENTS_WALLET,
        answers.payment === 'open-payments' ? answers.wallet : undefined,
      );
    });
  }

  it('tells a file of comments from one that sets something', () => {
    assert.equal(setsSomething('# CODIUS_PORT=3000\n\n  # nothing\n'), false);
    assert.equal(setsSomething('# header\nCODIUS_PORT=3000\n'), true);
    assert.equal(setsSomething('export CODIUS_DEV=true\n'), true);
  });

  it('lists the DNS records for the public addresses, the key to register and the service to start', () => {
    const steps = nextSteps({
      answers: base,
      publicAddresses: ['203.0.113.9', '2a01:4f8::7'],
      newPublicKey: { kid: 'made' },
      doctorOk: true,
      envFile: '/etc/codiusd/codiusd.env',
    }).join('\n');
    assert.match(steps, /^1\. Create these DNS records/);
    assert.match(
      steps,
      /codius\.example\.com\. A 203\.0\.113\.9\n\s+\*\.codius\.example\.com\. A 203\.0\.113\.9/,
    );
    assert.match(steps, /\*\.codius\.example\.com\. AAAA 2a01:4f8::7/);
    assert.match(
      steps,
      /TSIG key codiusd-acme update TXT records at _acme-challenge\.codius\.example\.com in zone example\.com/,
    );
    assert.match(steps, /"kid": "made"/);
    assert.match(steps, /systemctl enable --now codiusd/);
    assert.doesNotMatch(steps, /doctor marked/);
  });
});

describe('codiusd setup: writing', () => {
  it('makes the key, writes the file mode 600 with its id, runs the doctor on the file alone', async () => {
    const envFile = join(dir, 'new.env');
    const deps = fakeDeps();
    const result = await runSetup(parseSetupArgs([...RFC2136_FLAGS, '--yes', '--env-file', envFile]), deps);
    assert.equal(result.doctorOk, false);
    const text = await readFile(envFile, 'utf8');
    assert.equal((await stat(envFile)).mode & 0o777, 0o600);
    assert.match(text, /^CODIUS_OPEN_PAYMENTS_KEY_ID=made-key-id$/m);
    assert.equal(deps.doctorEnv[0]?.CODIUS_PUBLIC_URI, 'https://codius.example.com');
    const printed = deps.output.join('');
    assert.match(printed, /Made the Open Payments key/);
    assert.match(printed, /codius\.example\.com\. A 203\.0\.113\.9/);
    assert.doesNotMatch(printed, /10\.1\.2\.3|127\.0\.0\.1/, 'private addresses are no DNS records');
    assert.ok(!printed.includes(TSIG_SECRET), 'the TSIG secret is never printed');
    assert.match(printed, /Fix what the doctor marked/);
  });

  it('needs the key id of a key that exists already', async () => {
    const deps = fakeDeps({ fileExists: () => Promise.resolve(true) });
    await assert.rejects(
      runSetup(parseSetupArgs([...RFC2136_FLAGS, '--yes', '--env-file', join(dir, 'k.env')]), deps),
      /--key-id is needed: \/etc\/codiusd\/open-payments\.pem exists/,
    );
  });

  it('never replaces a configuration that sets something without --force or a yes, and keeps the old one', async () => {
    const envFile = join(dir, 'existing.env');
    await writeFile(envFile, 'CODIUS_PUBLIC_URI=https://mine.example.com\n', { mode: 0o600 });
    const flags = ['--host', 'codius.example.com', '--payment', 'moneyd', '--no-acme', '--env-file', envFile];
    const makeKey = (): never => assert.fail('no key is made for moneyd');
    await assert.rejects(
      runSetup(parseSetupArgs([...flags, '--yes']), fakeDeps({ makeKey })),
      (error: Error) => {
        return (
          error instanceof SetupRefusedError && /already sets variables; not replaced/.test(error.message)
        );
      },
    );
    const declining = scriptedTerminal([], [false]);
    await assert.rejects(
      runSetup(parseSetupArgs(flags), fakeDeps({ terminal: declining })),
      SetupRefusedError,
    );
    assert.equal(await readFile(envFile, 'utf8'), 'CODIUS_PUBLIC_URI=https://mine.example.com\n');

    await runSetup(parseSetupArgs([...flags, '--force']), fakeDeps());
    assert.match(await readFile(envFile, 'utf8'), /written by `codiusd setup`/);
    assert.equal(await readFile(`${envFile}.old`, 'utf8'), 'CODIUS_PUBLIC_URI=https://mine.example.com\n');
    assert.equal((await stat(`${envFile}.old`)).mode & 0o777, 0o600);

    // The same answers on another day: the file already sets exactly this, so it stays as it is.
    const written = await readFile(envFile, 'utf8');
    const later = fakeDeps({ now: () => new Date('2027-01-10T10:00:00Z') });
    await runSetup(parseSetupArgs([...flags, '--yes']), later);
    assert.match(later.output.join(''), /already holds this configuration/);
    assert.equal(await readFile(envFile, 'utf8'), written);
  });

  it('replaces the packaged file of comments without asking', async () => {
    const envFile = join(dir, 'packaged.env');
    await writeFile(envFile, '# codiusd configuration; sets nothing until `codiusd setup` writes it.\n');
    await runSetup(
      parseSetupArgs([
        '--host',
        'codius.example.com',
        '--payment',
        'moneyd',
        '--no-acme',
        '--yes',
        '--env-file',
        envFile,
      ]),
      fakeDeps(),
    );
    assert.match(await readFile(envFile, 'utf8'), /^CODIUS_PUBLIC_URI=https:\/\/codius\.example\.com$/m);
  });
});
