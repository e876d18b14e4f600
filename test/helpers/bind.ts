import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import { freePort } from './daemon.js';
import { startServerProcess } from './server-process.js';
import { tempDir } from './tmp.js';
import { until } from './wait.js';

export interface BindServer {
  host: '127.0.0.1';
  port: number;
  /** May update TXT records under `_acme-challenge.<zone>` only. */
  acmeKey: { name: string; algorithm: 'hmac-sha256'; secret: string };
  txt(name: string): Promise<string[]>;
}

/**
 * BIND's named, authoritative for one zone on a loopback port, that lets the ACME key update TXT records
 * under `_acme-challenge.<zone>` and nothing else. Stopped when the test file ends.
 */
export async function startBind(domain: string): Promise<BindServer> {
  const dir = await tempDir('codiusd-bind-');
  const port = await freePort();
  const acmeKey = {
    name: 'codiusd-acme',
    algorithm: 'hmac-sha256' as const,
    secret: randomBytes(32).toString('base64'),
  };
  const zoneFile = [
    '$TTL 60',
    `@ SOA ns.${domain}. hostmaster.${domain}. 1 3600 600 86400 60`,
    `@ NS ns.${domain}.`,
    'ns A 127.0.0.1',
    '',
  ].join('\n');
  await writeFile(join(dir, 'zone.db'), zoneFile);
  await writeFile(
    join(dir, 'named.conf'),
    [
      'options {',
      `  directory "${dir}";`,
      `  pid-file "${dir}/named.pid";`,
      `  session-keyfile "${dir}/session.key";`,
      `  listen-on port ${port} { 127.0.0.1; };`,
      '  listen-on-v6 { none; };',
      '  recursion no;',
      '};',
      'controls { };',
      `key "${acmeKey.name}" { algorithm ${acmeKey.algorithm}; secret "${acmeKey.secret}"; };`,
      `zone "${domain}" {`,
      '  type primary;',
      `  file "${dir}/zone.db";`,
      `  update-policy { grant ${acmeKey.name} subdomain _acme-challenge.${domain}. TXT; };`,
      '};',
      '',
    ].join('\n'),
  );
  const server = startServerProcess('named', ['-g', '-c', join(dir, 'named.conf')]);
  const resolver = new Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  await until(
    'named answers',
    async () => {
      server.assertRunning();
      return resolver.resolveNs(domain).then(
        () => true,
        () => false,
      );
    },
    10_000,
  );
  return {
    host: '127.0.0.1',
    port,
    acmeKey,
    txt: async (name) =>
      resolver.resolveTxt(name).then(
        (records) => records.map((chunks) => chunks.join('')),
        () => [],
      ),
  };
}
