// codius-manifest@2.2.3 (dev dependency, the reference implementation) ships no types.
declare module 'codius-manifest' {
  const codiusManifest: { hashManifest(manifest: unknown): string };
  export default codiusManifest;
}
