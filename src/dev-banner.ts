/** What the development-mode banner shows. */
export interface DevBannerFacts {
  version: string;
  /** Where the server listens, e.g. http://127.0.0.1:3000 */
  listeningUrl: string;
  publicUri: string;
  root: string;
}

/**
 * The lines codiusd prints to stderr once it listens in development mode: where it is and how to upload
 * to it. Logs stay JSON lines on stdout; this is for the person who just ran the quick start.
 */
export function devBanner(facts: DevBannerFacts): string {
  const publicUri = new URL(facts.publicUri);
  const podUrl = `${publicUri.protocol}//<manifest hash>.${publicUri.host}/`;
  const host = facts.listeningUrl;
  return [
    '',
    `  codiusd ${facts.version} is running in DEVELOPMENT mode: play money, loopback peers allowed.`,
    '  Never run a public host in development mode.',
    '',
    `  API and status page  ${host}/`,
    `  public URI           ${facts.publicUri}`,
    `  pods answer at       ${podUrl} (Host header or DNS pointing here)`,
    `  data                 ${facts.root}`,
    '',
    '  Upload a pod with the Codius CLI, e.g. from this repository (README, "Your first pod"):',
    '    bash examples/hello/build-image.sh && cd examples/hello',
    `    ../../scripts/codius upload --host ${host} --units XRP --max-monthly-rate 10 --duration 600 --assume-yes`,
    '',
    '  Stop with Ctrl-C.',
    '',
    '',
  ].join('\n');
}
