import { readFileSync } from 'node:fs';

/** Golden vectors of the wire spec (computed with codius-manifest@2.2.3), kept as a test fixture. */
export interface GoldenVectors {
  manifests: Record<
    string,
    {
      manifest: unknown;
      canonical_utf8_hex: string;
      canonical_byte_length: number;
      sha256_hex: string;
      manifest_hash: string;
    }
  >;
  private_var: {
    private_var_object: { nonce: string; value: string };
    canonical: string;
    sha256_hex: string;
  };
  codius_secret_hmac: { secret_file_contents_base64: string; manifest_hash: string; hmac_sha256_hex: string };
  prices: { cases: Array<[number, number, number, string]> };
}

export const goldenVectors = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/golden-vectors.json', import.meta.url), 'utf8'),
) as GoldenVectors;
