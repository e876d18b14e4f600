// Pays a pod of a codiusd host from this machine's moneyd, as anyone on the host's ILP network could:
//   node tip.mjs <codiusd URL> <manifest hash> <amount in base units>
// It asks the pod (through codiusd's proxy) for a STREAM address, then sends the amount there.
import { Buffer } from 'node:buffer';
import console from 'node:console';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import process from 'node:process';
import { URL } from 'node:url';
import { loadStream } from './stream.mjs';

const require = createRequire(import.meta.url);
const stream = loadStream(require);
const [codiusd, hash, amount] = process.argv.slice(2);
if (!codiusd || !/^[a-z2-7]{52}$/.test(hash ?? '') || !/^[1-9][0-9]*$/.test(amount ?? '')) {
  console.error('usage: node tip.mjs <codiusd URL> <manifest hash> <amount in base units>');
  process.exit(2);
}

function get(url, host) {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(JSON.parse(body))
          : reject(new Error(`${url}: ${res.statusCode} ${body}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

// Pods answer at <hash>.<public host>; codiusd's /info says which host that is.
const { uri } = await get(`${codiusd}/info`);
const address = await get(`${codiusd}/address`, `${hash}.${new URL(uri).host}`);
const plugin = require('ilp-plugin-btp');
const payer = new plugin({ server: `btp+ws://:${randomBytes(16).toString('hex')}@localhost:7768` });
await payer.connect();
const connection = await stream.createConnection({
  plugin: payer,
  destinationAccount: address.destinationAccount,
  sharedSecret: Buffer.from(address.sharedSecret, 'base64'),
});
const money = connection.createStream();
await money.sendTotal(amount, { timeout: 30_000 });
console.log(`paid ${money.totalSent} base units to ${address.account}`);
await connection.end();
await payer.disconnect();
