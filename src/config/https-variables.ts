import Joi from 'joi';
import { bool, port } from './schemas.js';
import type { VariableSpec } from './variable-spec.js';

const hostPort = Joi.string().pattern(/^(\[[0-9a-fA-F:.]+\]|[^\s:,[\]]+)(:\d{1,5})?$/);
const dnsName = Joi.string().pattern(
  /^([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?\.)*[a-zA-Z0-9_-]+\.?$/,
);

/** Certificates codiusd obtains itself (ACME), the plain-HTTP port beside TLS, and custom domains. */
export const HTTPS_VARIABLES: readonly VariableSpec[] = [
  {
    name: 'CODIUS_ACME',
    schema: bool,
    expected: 'true or false',
    default: 'false',
    description:
      'Obtain and renew the certificate for the host and *.host from an ACME CA (DNS-01, see CODIUS_ACME_DNS), and for custom domains of pods (HTTP-01). Replaces CODIUS_TLS_CERT/KEY.',
  },
  {
    name: 'CODIUS_ACME_EMAIL',
    schema: Joi.string().email({ tlds: false }),
    expected: 'an email address',
    defaultText: 'none (the CA cannot warn of problems)',
    description: "Contact address of the ACME account, for the CA's expiry and incident notices.",
  },
  {
    name: 'CODIUS_ACME_DIRECTORY',
    schema: Joi.string().uri({ scheme: ['https'] }),
    expected: 'an https URL of an ACME directory',
    default: 'https://acme-v02.api.letsencrypt.org/directory',
    description:
      "The CA's ACME directory (Let's Encrypt staging: https://acme-staging-v02.api.letsencrypt.org/directory).",
  },
  {
    name: 'CODIUS_ACME_CA_ROOT',
    schema: Joi.string().min(1),
    expected: 'a path to a PEM file of CA certificates',
    defaultText: "none (the system's trusted CAs)",
    description: "Trust this CA for the ACME directory's own HTTPS (a private CA).",
  },
  {
    name: 'CODIUS_ACME_DNS',
    schema: Joi.string().valid('rfc2136', 'exec'),
    expected: 'rfc2136 or exec',
    default: 'rfc2136',
    description:
      'How DNS-01 TXT records are published: rfc2136 (dynamic update signed with TSIG: BIND, Knot, PowerDNS, many DNS hosts) or exec (CODIUS_ACME_DNS_HOOK).',
  },
  {
    name: 'CODIUS_ACME_RFC2136_SERVER',
    schema: hostPort,
    expected: 'host or host:port of the primary DNS server',
    defaultText: 'none',
    description: 'The DNS server that accepts the updates (port 53 unless given).',
  },
  {
    name: 'CODIUS_ACME_RFC2136_ZONE',
    schema: dnsName,
    expected: 'a DNS zone name',
    defaultText: "the public URI's host name",
    description: 'The zone the updates are for (its apex).',
  },
  {
    name: 'CODIUS_ACME_RFC2136_TSIG_NAME',
    schema: dnsName,
    expected: 'a TSIG key name',
    defaultText: 'none',
    description: 'The TSIG key the updates are signed with.',
  },
  {
    name: 'CODIUS_ACME_RFC2136_TSIG_SECRET',
    schema: Joi.string().base64(),
    expected: 'the base64 secret of the TSIG key',
    defaultText: 'none',
    description: 'The TSIG key’s secret (as `secret:` in Knot, `secret "…"` in BIND).',
    secret: true,
  },
  {
    name: 'CODIUS_ACME_RFC2136_TSIG_ALGORITHM',
    schema: Joi.string().valid('hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'),
    expected: 'hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384 or hmac-sha512',
    default: 'hmac-sha256',
    description: 'The TSIG key’s algorithm.',
  },
  {
    name: 'CODIUS_ACME_DNS_HOOK',
    schema: Joi.string().min(1),
    expected: 'a path to an executable',
    defaultText: 'none',
    description:
      'CODIUS_ACME_DNS=exec: run as `<program> add|remove <name> <value>` to publish or remove a TXT record; must exit 0. It gets no CODIUS_* variables.',
  },
  {
    name: 'CODIUS_ACME_DNS_HOOK_TIMEOUT',
    schema: Joi.number().greater(0).max(3600),
    expected: 'a number of seconds in (0, 3600]',
    default: '120',
    description: 'Longest one run of CODIUS_ACME_DNS_HOOK may take.',
  },
  {
    name: 'CODIUS_ACME_PROPAGATION_TIMEOUT',
    schema: Joi.number().greater(0).max(3600),
    expected: 'a number of seconds in (0, 3600]',
    default: '300',
    description: "Longest wait for a DNS-01 record to show at every one of its zone's authoritative servers.",
  },
  {
    name: 'CODIUS_ACME_RETRY_MIN',
    schema: Joi.number().greater(0).max(86_400),
    expected: 'a number of seconds in (0, 86400]',
    default: '60',
    description:
      'First pause after a failed certificate order; doubled after each further failure, up to 6 hours.',
  },
  {
    name: 'CODIUS_HTTP_PORT',
    schema: Joi.alternatives(Joi.number().valid(0), port),
    expected: 'a port number (0: any free port)',
    default: '80',
    description:
      'With TLS on: the plain-HTTP port, which answers ACME HTTP-01 challenges and redirects everything else to https.',
  },
  {
    name: 'CODIUS_DNS_RESOLVER',
    schema: Joi.string().custom((raw: string, helpers) =>
      raw.split(',').every((entry) => hostPort.validate(entry.trim()).error === undefined)
        ? raw
        : helpers.error('any.invalid'),
    ),
    expected: 'a comma-separated list of host:port DNS servers',
    defaultText: "the system's resolvers",
    description:
      'Where codiusd looks up custom domains’ `_codius` TXT proofs and the name servers of DNS-01 zones.',
  },
  {
    name: 'CODIUS_CUSTOM_DOMAINS_PER_POD',
    schema: Joi.number().integer().min(0).max(100),
    expected: 'an integer from 0 to 100 (0: no custom domains)',
    default: '5',
    description: 'Most custom domains one pod may have certificates for.',
  },
  {
    name: 'CODIUS_CUSTOM_DOMAIN_ORDERS_PER_HOUR',
    schema: Joi.number().integer().min(0).max(10_000),
    expected: 'an integer from 0 to 10000',
    default: '20',
    description:
      'Most certificate orders for custom domains per hour, for the whole host (the CA limits orders too).',
  },
];
