// Entry point of the embedded `moneyd local` process (see moneyd-local.ts). It exits when codiusd, its
// parent, is gone, even after a SIGKILL that gave codiusd no chance to stop it: a leftover moneyd would
// hold port 7768 with play money nobody watches.
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 1_000).unref();

const bin = requireHere.resolve('moneyd/bin/moneyd.js');
// moneyd's CLI reads its command from argv.
process.argv = [process.argv[0] ?? process.execPath, bin, 'local'];
requireHere(bin);
