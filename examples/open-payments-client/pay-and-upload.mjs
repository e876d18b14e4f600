// Uploads a manifest to a Codius host (or extends its pod) and pays from your own Open Payments wallet.
//
//   node pay-and-upload.mjs --host https://codius.example.com --manifest codius.json --duration 3600 \
//     --wallet https://ilp.interledger-test.dev/alice --key-id <key id> --private-key private.key
//   node pay-and-upload.mjs ... --extend <manifest hash>      (PUT /pods: more time for a running pod)
//
// The host answers 402 with an incoming payment on its wallet. This script quotes it from your wallet,
// asks your wallet for an outgoing-payment grant limited to the quote (you approve it on your wallet's
// consent page, whose URL it prints), pays, and sends the request again with the same Pay-Token. Your
// wallet's key is the one you generated at your account provider (the test wallet: Settings → Developer
// Keys). Nothing is sent before you approve; a refusal pays nothing.
/* global fetch */
import { Buffer } from 'node:buffer';
import console from 'node:console';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';
import { createAuthenticatedClient } from '@interledger/open-payments';

const usage = `usage: node pay-and-upload.mjs --host URL --wallet URL --key-id ID --private-key FILE
         (--manifest FILE | --extend HASH) [--duration SECONDS] [--consent-timeout SECONDS]`;

const { values: options } = parseArgs({
  options: {
    host: { type: 'string' },
    manifest: { type: 'string' },
    extend: { type: 'string' },
    duration: { type: 'string', default: '3600' },
    wallet: { type: 'string' },
    'key-id': { type: 'string' },
    'private-key': { type: 'string' },
    'consent-timeout': { type: 'string', default: '600' },
  },
});

function fail(message) {
  console.error(message);
  process.exit(1);
}

if (!options.host || !options.wallet || !options['key-id'] || !options['private-key']) fail(usage);
if (Boolean(options.manifest) === Boolean(options.extend)) fail(usage);
if (!/^[1-9][0-9]*$/.test(options.duration)) fail('--duration is a whole number of seconds');
if (options.extend && !/^[a-z2-7]{52}$/.test(options.extend))
  fail('--extend takes a 52-character manifest hash');

const host = options.host.replace(/\/+$/, '');
// A Codius pay token is 16 random bytes.
const payToken = randomBytes(16).toString('base64url');

/** The request to pay for: an upload of the manifest file, or an extension of a pod. */
async function podRequest() {
  if (options.extend) {
    return { method: 'PUT', path: `/pods?manifestHash=${options.extend}&duration=${options.duration}` };
  }
  const parsed = JSON.parse(await readFile(options.manifest, 'utf8'));
  // A file holding {"manifest": …, "private": …} is sent as it is; a bare manifest is wrapped.
  const body = parsed && typeof parsed === 'object' && 'manifest' in parsed ? parsed : { manifest: parsed };
  return { method: 'POST', path: `/pods?duration=${options.duration}`, body: JSON.stringify(body) };
}

async function send(request) {
  const response = await fetch(host + request.path, {
    method: request.method,
    headers: {
      accept: 'application/json',
      'pay-token': payToken,
      ...(request.body ? { 'content-type': 'application/json' } : {}),
    },
    body: request.body,
  });
  const text = await response.text();
  let body;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { message: text };
  }
  return { status: response.status, body };
}

const amountText = (amount) => `${amount.value} (scale ${amount.assetScale}) ${amount.assetCode}`;

/**
 * Waits for the wallet's consent page to send the browser back here, on a port of this machine only.
 * Resolves with the interaction reference and hash the wallet put in the URL.
 */
async function finishListener() {
  const nonce = randomUUID();
  let settle;
  const arrived = new Promise((resolve, reject) => (settle = { resolve, reject }));
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/finish') {
      res.writeHead(404).end();
      return;
    }
    const interactRef = url.searchParams.get('interact_ref');
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(interactRef ? 'Approved. You can close this page.\n' : 'Not approved: nothing was paid.\n');
    if (interactRef) settle.resolve({ interactRef, hash: url.searchParams.get('hash') ?? '' });
    else
      settle.reject(new Error(`the wallet did not approve the payment (${url.search || 'no reason given'})`));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { uri: `http://127.0.0.1:${port}/finish`, nonce, arrived, close: () => server.close() };
}

/** The hash the authorization server puts in the finish URL; some encode it base64, some base64url. */
function finishHashMatches(received, { clientNonce, serverNonce, interactRef, grantEndpoint }) {
  const digest = createHash('sha256')
    .update(`${clientNonce}\n${serverNonce}\n${interactRef}\n${grantEndpoint}`)
    .digest();
  const normalized = Buffer.from(received.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return normalized.equals(digest);
}

/** Pays the host's incoming payment from the payer's wallet, with the payer's consent. */
async function pay(offer) {
  const client = await createAuthenticatedClient({
    walletAddressUrl: options.wallet,
    keyId: options['key-id'],
    privateKey: options['private-key'],
    // Only for trying against a wallet on this machine: real wallets are https.
    useHttp: options.wallet.startsWith('http://'),
    logLevel: 'silent',
  });
  const wallet = await client.walletAddress.get({ url: options.wallet });
  const quoteGrant = await client.grant.request(
    { url: wallet.authServer },
    { access_token: { access: [{ type: 'quote', actions: ['create', 'read'] }] } },
  );
  if (!quoteGrant.access_token) throw new Error('the wallet gave no grant for quotes');
  const quote = await client.quote.create(
    { url: wallet.resourceServer, accessToken: quoteGrant.access_token.value },
    { walletAddress: wallet.id, receiver: offer.incomingPayment, method: 'ilp' },
  );
  console.log(
    `Your wallet will send ${amountText(quote.debitAmount)}; the host receives ${amountText(quote.receiveAmount)}.`,
  );

  const finish = await finishListener();
  try {
    const pending = await client.grant.request(
      { url: wallet.authServer },
      {
        access_token: {
          access: [
            {
              type: 'outgoing-payment',
              actions: ['create', 'read'],
              identifier: wallet.id,
              limits: { debitAmount: quote.debitAmount },
            },
          ],
        },
        interact: {
          start: ['redirect'],
          finish: { method: 'redirect', uri: finish.uri, nonce: finish.nonce },
        },
      },
    );
    if (!pending.interact) throw new Error('the wallet asked for no consent for an outgoing payment');
    console.log(`Approve the payment in your wallet: ${pending.interact.redirect}`);
    const timeout = Number(options['consent-timeout']) * 1000;
    const back = await Promise.race([
      finish.arrived,
      new Promise((_resolve, reject) =>
        setTimeout(() => reject(new Error('no answer from the consent page in time')), timeout).unref(),
      ),
    ]);
    const expected = {
      clientNonce: finish.nonce,
      serverNonce: pending.interact.finish,
      interactRef: back.interactRef,
      grantEndpoint: wallet.authServer,
    };
    if (!finishHashMatches(back.hash, expected))
      throw new Error('the finish hash does not match: not paying');
    const grant = await client.grant.continue(
      { url: pending.continue.uri, accessToken: pending.continue.access_token.value },
      { interact_ref: back.interactRef },
    );
    if (!grant.access_token) throw new Error('the wallet gave no outgoing-payment grant');
    const payment = await client.outgoingPayment.create(
      { url: wallet.resourceServer, accessToken: grant.access_token.value },
      { walletAddress: wallet.id, quoteId: quote.id },
    );
    console.log(`Paid: outgoing payment ${payment.id}`);
  } finally {
    finish.close();
  }
}

const request = await podRequest();
let answer = await send(request);
if (answer.status === 402) {
  const offer = answer.body.openPayments;
  if (!offer) fail(`${host} does not take Open Payments now: ${JSON.stringify(answer.body)}`);
  console.log(
    `${host} asks ${amountText(offer.amount)} into ${offer.walletAddress} until ${offer.expiresAt}.`,
  );
  await pay(offer).catch((error) => fail(String(error?.message ?? error)));
  // The host waits a while for the money itself; the offer's end bounds how long asking again makes sense.
  const until = Date.parse(offer.expiresAt);
  do answer = await send(request);
  while (answer.status === 402 && Date.now() < until);
}
if (answer.status !== 200) fail(`${host} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
console.log(JSON.stringify(answer.body, null, 2));
