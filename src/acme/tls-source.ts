/** Certificate and key, PEM, as a TLS listener takes them. */
export interface TlsMaterial {
  cert: string;
  key: string;
}

/**
 * Where the public listener's certificates come from: fixed files, or certificates codiusd obtains and
 * renews itself. Whoever serves TLS takes the current one and is told of each replacement.
 */
export interface TlsSource {
  /** The host's certificate (host name and its wildcard), served by default. */
  current(): TlsMaterial;
  /** Called after the host's certificate is replaced. */
  onReplaced(listener: (material: TlsMaterial) => Promise<void> | void): void;
}

/** CODIUS_TLS_CERT/KEY: read once, replaced by a restart. */
export function fixedTlsSource(material: TlsMaterial): TlsSource {
  return {
    current: () => material,
    onReplaced: () => undefined,
  };
}

/** A certificate served, as the operator sees it: the host's or a custom domain's, and where it comes from. */
export interface CertificateReport {
  name: string;
  kind: 'host' | 'custom';
  source: 'acme' | 'files';
  names: string[];
  notAfter: string;
  /** When it is renewed next (ACME only). */
  renewAt: string | null;
  /** Renewals failed in a row. */
  failures: number;
  lastError: string | null;
}
