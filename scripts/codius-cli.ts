/**
 * Runs the published Codius CLI (the dev dependency codius@3.1.0), unmodified, on Node 20 and newer.
 *
 * Its payment library, ilp-protocol-stream 1.x under ilp-fetch, assigns `closed` on its stream class, which
 * Node 18 made a getter-only property of Readable: every paid request would throw. This applies codiusd's
 * own fix (src/ilp/stream-compat.ts) to the copy the CLI pays with, then runs the CLI in this process with
 * the same arguments. The copy under ilp-price is left alone: with `--units` in the host's asset it never
 * opens a STREAM. Under Node 16 the stock `codius` command needs none of this.
 *
 * Usage: scripts/codius <codius arguments>, e.g. scripts/codius upload --host http://127.0.0.1:3000 …
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fixIlpProtocolStream } from '../src/ilp/stream-compat.js';

const require = createRequire(import.meta.url);
const cli = require.resolve('codius/bin/codius.js');
fixIlpProtocolStream(require.resolve('ilp-fetch', { paths: [dirname(cli)] }));
// The help text names the program after argv[1]; show the name users know.
process.argv[1] = 'codius';
require(cli);
