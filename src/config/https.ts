import { ConfigError, booleanOf, numberOf, readDefaulted, readString, stringOf, type Env } from './read.js';

export interface DnsServerAddress {
  host: string;
  port: number;
}

export type AcmeDnsSettings =
  | {
      kind: 'rfc2136';
      server: DnsServerAddress;
      zone: string;
      tsig: { name: string; algorithm: string; secret: Buffer };
    }
  | { kind: 'exec'; hook: string; timeoutMs: number };

export interface AcmeSettings {
  email: string | null;
  directoryUrl: string;
  caRootFile: string | null;
  dns: AcmeDnsSettings;
  propagationTimeoutMs: number;
  retryMinMs: number;
}

export interface HttpsSettings {
  /** CODIUS_ACME=true: certificates obtained and renewed by codiusd. */
  acme: AcmeSettings | null;
  /** With TLS on, the plain-HTTP port (HTTP-01 challenges, redirects to https). */
  httpPort: number;
  /** CODIUS_DNS_RESOLVER; empty: the system's resolvers. */
  dnsResolvers: DnsServerAddress[];
  customDomains: { perPod: number; ordersPerHour: number };
}

/** `host`, `host:port`, `[v6]` or `[v6]:port`. */
export function parseHostPort(text: string, defaultPort: number): DnsServerAddress {
  const trimmed = text.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (bracketed) return { host: bracketed[1] as string, port: Number(bracketed[2] ?? defaultPort) };
  const [host, port] = trimmed.split(':');
  return { host: host as string, port: Number(port ?? defaultPort) };
}

function required(env: Env, name: string, why: string): string {
  const value = readString(env, name);
  if (value === undefined) throw new ConfigError(name, `${name} must be set ${why}`);
  return value;
}

function readAcmeDns(env: Env, publicHost: string): AcmeDnsSettings {
  const kind = readDefaulted(env, 'CODIUS_ACME_DNS') as 'rfc2136' | 'exec';
  if (kind === 'exec') {
    return {
      kind,
      hook: required(env, 'CODIUS_ACME_DNS_HOOK', 'with CODIUS_ACME_DNS=exec'),
      timeoutMs: numberOf(env, 'CODIUS_ACME_DNS_HOOK_TIMEOUT') * 1000,
    };
  }
  const why = 'with CODIUS_ACME_DNS=rfc2136';
  return {
    kind,
    server: parseHostPort(required(env, 'CODIUS_ACME_RFC2136_SERVER', why), 53),
    zone: (readString(env, 'CODIUS_ACME_RFC2136_ZONE') ?? publicHost).replace(/\.$/, '').toLowerCase(),
    tsig: {
      name: required(env, 'CODIUS_ACME_RFC2136_TSIG_NAME', why).replace(/\.$/, '').toLowerCase(),
      algorithm: stringOf(env, 'CODIUS_ACME_RFC2136_TSIG_ALGORITHM'),
      secret: Buffer.from(required(env, 'CODIUS_ACME_RFC2136_TSIG_SECRET', why), 'base64'),
    },
  };
}

/**
 * The HTTPS settings. TLS is on with CODIUS_TLS_CERT/KEY or CODIUS_ACME (not both); then the public URI
 * must be https, since it is what clients and pods are told.
 */
export function readHttps(env: Env, publicUri: string, staticTls: boolean): HttpsSettings {
  const acmeOn = booleanOf(env, 'CODIUS_ACME');
  if (acmeOn && staticTls) {
    throw new ConfigError(
      'CODIUS_ACME',
      'CODIUS_ACME=true obtains the certificate: unset CODIUS_TLS_CERT and CODIUS_TLS_KEY',
    );
  }
  if ((acmeOn || staticTls) && new URL(publicUri).protocol !== 'https:') {
    throw new ConfigError(
      'CODIUS_PUBLIC_URI',
      `CODIUS_PUBLIC_URI must be https with TLS on; got ${publicUri}`,
    );
  }
  const publicHost = new URL(publicUri).hostname.toLowerCase();
  const resolvers = readString(env, 'CODIUS_DNS_RESOLVER');
  return {
    acme: acmeOn
      ? {
          email: readString(env, 'CODIUS_ACME_EMAIL') ?? null,
          directoryUrl: stringOf(env, 'CODIUS_ACME_DIRECTORY'),
          caRootFile: readString(env, 'CODIUS_ACME_CA_ROOT') ?? null,
          dns: readAcmeDns(env, publicHost),
          propagationTimeoutMs: numberOf(env, 'CODIUS_ACME_PROPAGATION_TIMEOUT') * 1000,
          retryMinMs: numberOf(env, 'CODIUS_ACME_RETRY_MIN') * 1000,
        }
      : null,
    httpPort: numberOf(env, 'CODIUS_HTTP_PORT'),
    dnsResolvers:
      resolvers === undefined ? [] : resolvers.split(',').map((entry) => parseHostPort(entry, 53)),
    customDomains: {
      perPod: numberOf(env, 'CODIUS_CUSTOM_DOMAINS_PER_POD'),
      ordersPerHour: numberOf(env, 'CODIUS_CUSTOM_DOMAIN_ORDERS_PER_HOUR'),
    },
  };
}
