import { join } from 'node:path';
import { fail, pass, warn, type Check } from './check.js';

const DAY_MS = 86_400_000;

/** What serves the public port and its certificates: the engine, ACME, and on demand a DNS dry run. */
export const HTTPS_CHECKS: readonly Check[] = [
  {
    id: 'proxy-engine',
    title: 'Proxy engine',
    async run(config, probes) {
      const { engine, engineReason, haproxyPath } = config.proxy;
      if (engine === 'builtin') {
        return config.dev || !engineReason.includes('not found')
          ? pass(`built-in (${engineReason})`)
          : warn(`built-in (${engineReason})`, 'apt-get install haproxy: HAProxy serves pods faster');
      }
      const version = await probes.command(haproxyPath, ['-v']);
      if (version?.code !== 0) {
        return fail(`HAProxy (${engineReason}), but ${haproxyPath} does not run`, 'apt-get install haproxy');
      }
      return pass(`HAProxy ${/version (\S+)/.exec(version.stdout)?.[1] ?? ''} (${engineReason})`);
    },
  },
  {
    id: 'acme',
    title: 'ACME certificates',
    async run(config, probes) {
      const acme = config.https.acme;
      if (!acme) {
        return pass(config.proxy.tls ? 'off (CODIUS_TLS_CERT/KEY)' : 'off');
      }
      const host = new URL(config.publicUri).hostname.toLowerCase();
      const how = `${acme.directoryUrl}, DNS-01 by ${acme.dns.kind}`;
      const file = join(config.root, 'acme', 'certificates', `${host}.pem`);
      const certificate = await probes.certificateFile(file);
      if (!certificate) {
        return pass(
          `${how}; no certificate yet (obtained when codiusd starts; codiusd doctor --acme tries the DNS side)`,
        );
      }
      if (certificate.mode !== 0o600) {
        return fail(`${file} has mode ${certificate.mode.toString(8)}`, `chmod 600 ${file}`);
      }
      const daysLeft = Math.floor((certificate.notAfter.getTime() - Date.now()) / DAY_MS);
      const detail = `${how}; ${certificate.names.join(', ')}, ${daysLeft} days left`;
      if (daysLeft < 7) {
        return warn(detail, 'renewals are failing: see the log, and run codiusd doctor --acme');
      }
      return pass(detail);
    },
  },
  {
    id: 'acme-dns',
    title: 'ACME DNS publication',
    onDemand: 'acme',
    async run(config, probes) {
      if (!config.https.acme) return { status: 'skip', detail: 'CODIUS_ACME is off' };
      try {
        const run = await probes.acmeDnsDryRun(config);
        return pass(
          `TXT ${run.name} published in ${run.publishMs} ms by ${run.how}, visible at every authoritative server after ${run.visibleMs} ms, removed`,
        );
      } catch (error) {
        return fail(
          (error as Error).message,
          config.https.acme.dns.kind === 'rfc2136'
            ? 'check the TSIG key and the DNS server’s update policy for _acme-challenge TXT records'
            : 'run the hook by hand with the same arguments and read what it prints',
        );
      }
    },
  },
];
