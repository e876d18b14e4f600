import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Answers } from './questions.js';

/** The configuration `codiusd setup` writes, from complete answers. */
export function renderEnvFile(answers: Answers, written: Date): string {
  const lines = [
    `# codiusd configuration, written by \`codiusd setup\` on ${written.toISOString().slice(0, 10)}.`,
    '# Read by the codiusd service (systemd EnvironmentFile) and `codiusd --env-file`. Every variable, its',
    '# type and default: `codiusd --help`. Contains secrets: keep it mode 600.',
    '',
    `CODIUS_PUBLIC_URI=https://${answers.host}`,
    // The Debian package's data directory (the store, the host secret, certificates).
    'CODIUS_ROOT=/var/lib/codiusd',
    ...(answers.acme === 'yes'
      ? [
          // codiusd owns the public port; HAProxy serves it when installed (the package depends on it).
          'CODIUS_PORT=443',
          'CODIUS_BIND_IP=0.0.0.0',
        ]
      : [
          '# No ACME: a TLS proxy in front forwards to codiusd on loopback; or set CODIUS_TLS_CERT and',
          '# CODIUS_TLS_KEY, CODIUS_PORT=443 and CODIUS_BIND_IP=0.0.0.0 for codiusd to serve TLS itself.',
          'CODIUS_PORT=3000',
          'CODIUS_BIND_IP=127.0.0.1',
        ]),
    '',
  ];
  if (answers.payment === 'open-payments') {
    lines.push(
      '# Payments into the wallet at an Open Payments account provider.',
      `CODIUS_OPEN_PAYMENTS_WALLET=${answers.wallet}`,
      `CODIUS_OPEN_PAYMENTS_KEY_ID=${answers.keyId}`,
      `CODIUS_OPEN_PAYMENTS_PRIVATE_KEY=${answers.privateKey}`,
      '',
    );
  } else {
    lines.push('# Payments over ILP STREAM through the moneyd on localhost:7768 (the default).', '');
  }
  if (answers.acme === 'yes') {
    lines.push(
      "# Certificates for the host and *.host from Let's Encrypt; port 80 answers HTTP-01 and redirects.",
      'CODIUS_ACME=true',
      `CODIUS_ACME_EMAIL=${answers.acmeEmail}`,
      `CODIUS_ACME_DNS=${answers.acmeDns}`,
    );
    if (answers.acmeDns === 'rfc2136') {
      lines.push(
        `CODIUS_ACME_RFC2136_SERVER=${answers.rfc2136Server}`,
        `CODIUS_ACME_RFC2136_ZONE=${answers.rfc2136Zone}`,
        `CODIUS_ACME_RFC2136_TSIG_NAME=${answers.tsigName}`,
        `CODIUS_ACME_RFC2136_TSIG_SECRET=${answers.tsigSecret}`,
        `CODIUS_ACME_RFC2136_TSIG_ALGORITHM=${answers.tsigAlgorithm}`,
      );
    } else {
      lines.push(`CODIUS_ACME_DNS_HOOK=${answers.dnsHook}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Whether a configuration file sets any variable (a file of comments only is nobody's configuration). */
export function setsSomething(text: string): boolean {
  return settingLines(text).length > 0;
}

/** The variable lines of a configuration, in order: what it sets, whatever its comments say. */
function settingLines(text: string): string[] {
  return text.split('\n').filter((line) => /^\s*(export\s+)?[A-Za-z_][A-Za-z0-9_]*=/.test(line));
}

/** Whether two configurations set the same variables to the same values (their comments and date aside). */
export function sameSettings(a: string, b: string): boolean {
  const left = settingLines(a);
  const right = settingLines(b);
  return left.length === right.length && left.every((line, i) => line === right[i]);
}

/** The file's text, or undefined when there is none. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Writes `text` to `path` with mode 600, atomically: a reader sees the old file or the new one. With
 * `keepOld`, the file replaced stays as `<path>.old`.
 */
export async function writeEnvFile(path: string, text: string, keepOld: boolean): Promise<void> {
  // /etc/codiusd comes with the package; from a checkout it may not exist yet (secrets: root only).
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  if (keepOld) {
    const old = await readIfExists(path);
    if (old !== undefined) {
      const copy = await open(`${path}.old`, 'w', 0o600);
      await copy.chmod(0o600);
      await copy.writeFile(old).finally(() => copy.close());
    }
  }
  await rename(temporary, path);
}
