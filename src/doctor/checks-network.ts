import { isIP } from 'node:net';
import tls from 'node:tls';
import { connectTarget, fail, pass, warn, type Check } from './check.js';

/** How the world reaches the host: DNS, the public URI and pod names, the TLS certificate. */
export const NETWORK_CHECKS: readonly Check[] = [
  {
    id: 'public-uri',
    title: 'Public URI',
    async run(config, probes) {
      const url = new URL(config.publicUri);
      const target = connectTarget(config);
      const names = [url.hostname, `${probes.randomHash()}.${url.hostname}`];
      let note = '';
      if (config.selfTest.address)
        note = `; DNS not checked (CODIUS_SELF_TEST_ADDRESS=${target.host}:${target.port})`;
      else if (isIP(url.hostname) === 0) {
        const local = new Set(probes.localAddresses());
        for (const name of names) {
          const addresses = await probes.resolve(name).catch(() => []);
          if (addresses.length === 0)
            return fail(
              `${name} does not resolve`,
              `add DNS records ${url.hostname} and *.${url.hostname} pointing at this host`,
            );
          if (!addresses.some((address) => local.has(address)))
            note = `; ${name} resolves to ${addresses.join(', ')}, not an address of this machine (NAT?)`;
        }
      }
      const info = await probes
        .httpGet(`${url.origin}/info`, config.selfTest.address)
        .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
      if (info instanceof Error)
        return fail(
          `${url.origin}/info: ${info.message}`,
          'is codiusd running, and the TLS front (nginx) forwarding to it?',
        );
      const answeredUri = (JSON.parse(info.body || '{}') as { uri?: unknown }).uri;
      if (info.status !== 200 || answeredUri !== config.publicUri) {
        return fail(
          `${url.origin}/info answered ${info.status}, uri ${JSON.stringify(answeredUri)}`,
          'the name must reach this codiusd (check the front proxy and CODIUS_PUBLIC_URI)',
        );
      }
      const podUrl = `${url.protocol}//${names[1] ?? ''}${url.port ? `:${url.port}` : ''}/`;
      const pod = await probes
        .httpGet(podUrl, config.selfTest.address)
        .catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
      if (pod instanceof Error || pod.status !== 404 || !pod.body.includes('no pod with that hash')) {
        const seen = pod instanceof Error ? pod.message : `answered ${pod.status}`;
        return fail(
          `a pod name (${names[1] ?? ''}) did not reach codiusd's proxy: ${seen}`,
          'the wildcard DNS record and the front proxy must pass every subdomain with its Host header',
        );
      }
      const result = pass(`${config.publicUri} and *.${url.hostname} reach this codiusd${note}`);
      return note.includes('not an address')
        ? { ...result, status: 'warn', fix: 'fine behind NAT; otherwise fix the DNS records' }
        : result;
    },
  },
  {
    id: 'tls',
    title: 'TLS certificate',
    async run(config, probes) {
      const url = new URL(config.publicUri);
      if (url.protocol !== 'https:') {
        return config.dev
          ? pass('http (dev mode)')
          : fail(
              `${config.publicUri} is not https`,
              'clients and browsers expect https: put a TLS front before codiusd (contrib/nginx)',
            );
      }
      const name = `${probes.randomHash()}.${url.hostname}`;
      let cert: tls.PeerCertificate;
      try {
        cert = await probes.certificate(connectTarget(config), name);
      } catch (error) {
        return fail(
          `no TLS on ${url.host}: ${(error as Error).message}`,
          'set CODIUS_ACME=true (or CODIUS_TLS_CERT/KEY), or configure a TLS front (contrib/nginx)',
        );
      }
      for (const host of [url.hostname, name]) {
        const mismatch = tls.checkServerIdentity(host, cert);
        if (mismatch)
          return fail(
            `the certificate does not cover ${host}`,
            `get one for ${url.hostname} and *.${url.hostname} (DNS-01 challenge)`,
          );
      }
      const daysLeft = Math.floor((Date.parse(cert.valid_to) - Date.now()) / 86_400_000);
      // With ACME codiusd renews it itself, at two thirds of its lifetime.
      const renew = config.https.acme
        ? 'codiusd renews it itself: read its log, and run codiusd doctor --acme'
        : 'renew it (certbot renew), or let codiusd do it (CODIUS_ACME=true)';
      if (daysLeft < 0) return fail('the certificate has expired', renew);
      if (daysLeft < 14) return warn(`the certificate expires in ${daysLeft} days`, renew);
      return pass(`covers ${url.hostname} and *.${url.hostname}, ${daysLeft} days left`);
    },
  },
];
