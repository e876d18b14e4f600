// A pod that earns and spends over Interledger, configured only by the standard ILP_PLUGIN and
// ILP_CREDENTIALS its host gives it:
//   GET  /address                          a STREAM address and secret anyone can pay this pod at
//   GET  /received                         what payers have sent this pod so far
//   POST /pay?destination=D&secret=S&amount=N   pays N (base units) to a STREAM receiver; only with
//        `Authorization: Bearer <PAY_TOKEN>` (a private manifest variable), since it spends the pod's money
//   POST /pay-rent?amount=N                 pays N of the pod's own rent at its host (CODIUS_RENT_SPSP, an
//        SPSP URL on the pod network's gateway); the same authorization
// With KEEP_ALIVE_BELOW (seconds) and RENT_AMOUNT (base units) set, it keeps itself running: every 2 s it
// asks its host when its time ends and pays RENT_AMOUNT of rent from what it earned when less is left
// (examples/self-sustaining). GET /received then shows the rent paid and the expiry it saw.
/* global fetch */
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { Buffer } from 'node:buffer';
import process from 'node:process';
import { setInterval, setTimeout } from 'node:timers';
import { URL } from 'node:url';
import { loadStream } from './stream.mjs';

const require = createRequire(import.meta.url);
const stream = loadStream(require);
const IlpPacket = require('ilp-packet');

const plugin = require('ilp-plugin')();
await plugin.connect();

// One account, one BTP connection: packets for the account itself go to the sending side (STREAM
// clients), packets for addresses under it to the receiving side (the STREAM server).
let own = '';
const handlers = { server: null, client: null };
plugin.registerDataHandler(async (data) => {
  const { destination } = IlpPacket.deserializeIlpPrepare(data);
  const handler = destination === own ? handlers.client : handlers.server;
  if (!handler) {
    return IlpPacket.serializeIlpReject({
      code: 'F02',
      message: 'no handler',
      triggeredBy: own,
      data: Buffer.alloc(0),
    });
  }
  return handler(data);
});
function side(name) {
  return {
    connect: async () => undefined,
    disconnect: async () => undefined,
    isConnected: () => true,
    sendData: (data) => plugin.sendData(data),
    registerDataHandler(handler) {
      handlers[name] = handler;
    },
    deregisterDataHandler() {
      handlers[name] = null;
    },
    on() {},
    once() {},
    removeListener() {},
  };
}

const server = await stream.createServer({ plugin: side('server') });
own = server.serverAccount;
let received = 0n;
server.on('connection', (connection) => {
  connection.on('stream', (incoming) => {
    incoming.setReceiveMax('18446744073709551615');
    incoming.on('money', (amount) => {
      received += BigInt(amount);
    });
  });
});

async function pay(destinationAccount, sharedSecret, amount) {
  let connection;
  try {
    // A pod with nothing to spend sees every packet refused (T04) and STREAM keeps trying: give up after 10 s.
    const connecting = stream.createConnection({
      plugin: side('client'),
      destinationAccount,
      sharedSecret: Buffer.from(sharedSecret, 'base64'),
      idleTimeout: 5000,
    });
    connecting.catch(() => undefined);
    connection = await Promise.race([
      connecting,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('could not connect within 10 s')), 10_000),
      ),
    ]);
  } catch (error) {
    return { sent: '0', error: String(error.message ?? error) };
  }
  const outgoing = connection.createStream();
  try {
    await outgoing.sendTotal(amount, { timeout: 10_000 });
    return { sent: outgoing.totalSent };
  } catch (error) {
    return { sent: outgoing.totalSent, error: String(error.message ?? error) };
  } finally {
    await connection.destroy().catch(() => undefined);
  }
}

/** Pays the pod's own rent: SPSP from the host (any SPSP client would do), then a STREAM payment. */
async function payRent(amount) {
  const spsp = await fetch(process.env.CODIUS_RENT_SPSP, { headers: { accept: 'application/spsp4+json' } });
  if (!spsp.ok) return { sent: '0', error: `the host answered ${spsp.status} for the rent address` };
  const { destination_account: destination, shared_secret: secret } = await spsp.json();
  return pay(destination, secret, amount);
}

// Keeping itself alive from its earnings, when asked to.
const keepAliveBelow = Number(process.env.KEEP_ALIVE_BELOW ?? 0);
const keepAlive = { rentPaid: 0n, expiry: null, payments: [] };
if (keepAliveBelow > 0 && process.env.RENT_AMOUNT && process.env.CODIUS_RENT_SPSP) {
  // The host answers a pod's own status next to its rent address: GET /pods/<hash>.
  const statusUrl = process.env.CODIUS_RENT_SPSP.replace(/\/rent$/, '');
  let busy = false;
  setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const status = await (await fetch(statusUrl)).json();
      keepAlive.expiry = status.expiry;
      if (Date.parse(status.expiry) - Date.now() < keepAliveBelow * 1000) {
        const paid = await payRent(process.env.RENT_AMOUNT);
        keepAlive.rentPaid += BigInt(paid.sent);
        keepAlive.payments.push({ at: new Date().toISOString(), expiryBefore: status.expiry, ...paid });
      }
    } catch (error) {
      keepAlive.payments.push({ at: new Date().toISOString(), error: String(error.message ?? error) });
    } finally {
      keepAlive.payments.splice(0, keepAlive.payments.length - 20);
      busy = false;
    }
  }, 2000);
}

// Compared as digests, so neither the length nor the content of the token leaks through timing.
const digest = (text) => createHash('sha256').update(text).digest();
function mayPay(authorization) {
  const token = process.env.PAY_TOKEN;
  if (!token || !authorization?.startsWith('Bearer ')) return false;
  return timingSafeEqual(digest(authorization.slice('Bearer '.length)), digest(token));
}

createServer(async (req, res) => {
  const url = new URL(req.url, 'http://pod');
  let body;
  if (url.pathname === '/address') {
    const { destinationAccount, sharedSecret } = server.generateAddressAndSecret();
    body = { destinationAccount, sharedSecret: sharedSecret.toString('base64'), account: own };
  } else if (url.pathname === '/received') {
    body = {
      received: received.toString(),
      rentPaid: keepAlive.rentPaid.toString(),
      expiry: keepAlive.expiry,
      rentPayments: keepAlive.payments,
    };
  } else if ((url.pathname === '/pay' || url.pathname === '/pay-rent') && req.method === 'POST') {
    if (!mayPay(req.headers.authorization)) {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: `POST ${url.pathname} needs Authorization: Bearer <PAY_TOKEN>` }));
      return;
    }
    body =
      url.pathname === '/pay'
        ? await pay(
            url.searchParams.get('destination'),
            url.searchParams.get('secret'),
            url.searchParams.get('amount'),
          )
        : await payRent(url.searchParams.get('amount'));
  } else {
    body = {
      pod: 'ilp',
      env: {
        ILP_PLUGIN: process.env.ILP_PLUGIN ?? null,
        hasCredentials: Boolean(process.env.ILP_CREDENTIALS),
      },
    };
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}).listen(3000);
