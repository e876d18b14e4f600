import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import { freePort } from './daemon.js';
import { startServerProcess } from './server-process.js';
import { tempDir } from './tmp.js';
import { until } from './wait.js';

export interface KnotZone {
  /** The apex, e.g. `codius.test`. */
  domain: string;
  /** Records in zone-file syntax, after the SOA and NS that every zone gets. */
  records: string[];
}

export interface KnotServer {
  host: '127.0.0.1';
  port: number;
  /** The key codiusd updates `_acme-challenge` TXT records with (and nothing else). */
  acmeKey: { name: string; algorithm: 'hmac-sha256'; secret: string };
  /** A key that may update anything: the test's own changes (a pod owner's records). */
  adminKey: { name: string; algorithm: 'hmac-sha256'; secret: string };
  /** Adds or deletes records with knsupdate, signed with the admin key. */
  update(zone: string, lines: string[]): Promise<void>;
  /** TXT values of a name, as the server answers now. */
  txt(name: string): Promise<string[]>;
  output(): string;
}

const secret = (): string => randomBytes(32).toString('base64');

function zoneFile(zone: KnotZone): string {
  return [
    `$ORIGIN ${zone.domain}.`,
    '$TTL 60',
    `@ SOA ns.${zone.domain}. hostmaster.${zone.domain}. 1 3600 600 86400 60`,
    `@ NS ns.${zone.domain}.`,
    'ns A 127.0.0.1',
    ...zone.records,
    '',
  ].join('\n');
}

/**
 * Knot DNS, authoritative for the given zones on a loopback port, accepting TSIG-signed dynamic updates:
 * with the ACME key only of `_acme-challenge` TXT records, with the admin key of anything. Its zone files
 * and journal live in a fresh directory; the server is stopped when the test file ends.
 */
export async function startKnot(zones: KnotZone[]): Promise<KnotServer> {
  const dir = await tempDir('codiusd-knot-');
  const port = await freePort();
  const acmeKey = { name: 'codiusd-acme', algorithm: 'hmac-sha256' as const, secret: secret() };
  const adminKey = { name: 'test-admin', algorithm: 'hmac-sha256' as const, secret: secret() };
  for (const zone of zones) await writeFile(join(dir, `${zone.domain}.zone`), zoneFile(zone));
  const config = [
    'server:',
    `  rundir: ${dir}`,
    `  listen: 127.0.0.1@${port}`,
    'database:',
    `  storage: ${dir}`,
    'log:',
    '  - target: stderr',
    '    any: info',
    'key:',
    ...[acmeKey, adminKey].flatMap((key) => [
      `  - id: ${key.name}`,
      `    algorithm: ${key.algorithm}`,
      `    secret: ${key.secret}`,
    ]),
    'acl:',
    '  - id: acme',
    `    key: ${acmeKey.name}`,
    '    action: update',
    '    update-type: TXT',
    '    update-owner: name',
    '    update-owner-match: sub-or-equal',
    '    update-owner-name: _acme-challenge',
    '  - id: admin',
    `    key: ${adminKey.name}`,
    '    action: update',
    'zone:',
    ...zones.flatMap((zone) => [
      `  - domain: ${zone.domain}`,
      `    storage: ${dir}`,
      `    file: ${zone.domain}.zone`,
      '    zonefile-sync: -1',
      '    acl: [acme, admin]',
    ]),
    '',
  ].join('\n');
  const configFile = join(dir, 'knot.conf');
  await writeFile(configFile, config);
  const server = startServerProcess('knotd', ['-c', configFile, '-s', join(dir, 'knot.sock')]);
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const txt = async (name: string): Promise<string[]> => {
    try {
      return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
    } catch {
      return [];
    }
  };
  await until(
    'Knot answers',
    async () => {
      server.assertRunning();
      try {
        await resolver.resolveNs(zones[0]?.domain ?? '.');
        return true;
      } catch {
        return false;
      }
    },
    10_000,
  );
  return {
    host: '127.0.0.1',
    port,
    acmeKey,
    adminKey,
    async update(zone, lines) {
      const script = [`server 127.0.0.1 ${port}`, `zone ${zone}`, ...lines, 'send', ''].join('\n');
      const updater = spawn(
        'knsupdate',
        ['-y', `${adminKey.algorithm}:${adminKey.name}:${adminKey.secret}`],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let said = '';
      updater.stdout.on('data', (chunk: Buffer) => (said += chunk.toString()));
      updater.stderr.on('data', (chunk: Buffer) => (said += chunk.toString()));
      updater.stdin.end(script);
      const code = await new Promise((resolve) => updater.once('exit', resolve));
      if (code !== 0) throw new Error(`knsupdate failed (${String(code)}): ${said}`);
    },
    txt,
    output: () => server.output(),
  };
}
