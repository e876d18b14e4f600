import { readFileSync } from 'node:fs';

/** The name clients see at /version and /peers/discover; Codius clients and peers expect this one. */
export const SERVICE_NAME = 'Codiusd (JavaScript)';

// dist/src/version.js → package.json at the package root.
const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

export const VERSION: string = packageJson.version;
