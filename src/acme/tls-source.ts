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
