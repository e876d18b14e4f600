// Process entry: bin/codiusd runs this file.
import { main } from './cli.js';

await main(process.argv.slice(2));
