// A stand-in Open Payments account provider (no real one can run on this machine): wallet address server,
// GNAP authorization server and resource server in one HTTP server on loopback. It behaves like the
// documented API: every request and response is validated against the OpenAPI specs bundled with
// @interledger/open-payments, every signed request is verified against the client's published keys,
// grants follow GNAP (non-interactive for incoming payments and quotes; interactive, with a consent page,
// a finish redirect, an interaction reference and its hash, for outgoing payments), and money moves
// exactly between wallets' balances and the incoming payments outgoing payments pay.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after } from 'node:test';
import type { JWK } from '@interledger/http-signature-utils';
import {
  getAuthServerOpenAPI,
  getResourceServerOpenAPI,
  getWalletAddressServerOpenAPI,
} from '@interledger/open-payments';
import {
  ApiError,
  readRequest,
  send,
  validateRequest,
  validateResponse,
  verifySignature,
  type ProviderRequest,
  type ProviderResponse,
} from './http.js';
import { createResources, type Resources } from './resources.js';

export interface Wallet {
  name: string;
  id: string;
  assetCode: string;
  assetScale: number;
  balance: bigint;
  keys: JWK[];
}

export interface Grant {
  id: string;
  /** The client's wallet address URL (it signs with a key published there). */
  client: string;
  access: Array<{ type: string; actions: string[]; identifier?: string; limits?: Record<string, unknown> }>;
  token: string;
  manage: string;
  continueToken: string;
  /** Interactive grants: waiting for consent, then for `continue`. */
  state: 'pending' | 'approved' | 'finalized' | 'revoked' | 'rejected';
  finish?: { uri: string; nonce: string };
  serverNonce?: string;
  interactRef?: string;
  /** What outgoing payments under it debited so far (in the current interval, for an interval limit). */
  spent: bigint;
  /** For an interval limit: which repetition of the interval `spent` counts. */
  spentInterval?: number;
}

export interface FakeProvider {
  base: string;
  /** A wallet with its balance and the client keys its owner registered. */
  wallet(
    name: string,
    options: { assetCode: string; assetScale: number; balance?: bigint; keys?: JWK[] },
  ): Wallet;
  /**
   * What the consent page does with the next interactions: approve or reject at once (a script), or ask
   * (a page with Approve and Reject buttons, for a browser).
   */
  consent: 'approve' | 'reject' | 'ask';
  grants: Map<string, Grant>;
  resources: Resources;
  /** Revokes every grant of a client (as a wallet owner can). */
  revokeGrantsOf(client: string): void;
  /** Requests refused and why, for a test to show. */
  refusals: string[];
}

const WA = '/wallets/';
const AUTH = '/auth';
const RS = '/rs';

/** What a wallet shows its owner: who asks, for how much, and two buttons. */
function consentPage(grant: Grant): string {
  const limit = grant.access.find((a) => a.type === 'outgoing-payment')?.limits?.debitAmount as
    { value: string; assetCode: string; assetScale: number } | undefined;
  const amount = limit ? `${limit.value} (${limit.assetCode}, scale ${limit.assetScale})` : 'no limit';
  const action = `${AUTH}/interact/${grant.id}`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Approve a payment</title></head>
<body><h1>Approve a payment</h1><p id="client">${grant.client}</p><p id="limit">Up to ${amount}</p>
<form method="get" action="${action}"><input type="hidden" name="decision" value="approve"><button id="approve">Approve</button></form>
<form method="get" action="${action}"><input type="hidden" name="decision" value="reject"><button id="reject">Reject</button></form>
</body></html>`;
}

export async function startFakeProvider(): Promise<FakeProvider> {
  const [waSpec, asSpec, rsSpec] = await Promise.all([
    getWalletAddressServerOpenAPI(),
    getAuthServerOpenAPI(),
    getResourceServerOpenAPI(),
  ]);
  const wallets = new Map<string, Wallet>();
  const grants = new Map<string, Grant>();
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const walletById = (id: string): Wallet | undefined => [...wallets.values()].find((w) => w.id === id);
  const provider: FakeProvider = {
    base,
    consent: 'approve',
    grants,
    refusals: [],
    resources: undefined as unknown as Resources,
    wallet(name, options) {
      const wallet: Wallet = {
        name,
        id: `${base}${WA}${name}`,
        assetCode: options.assetCode,
        assetScale: options.assetScale,
        balance: options.balance ?? 0n,
        keys: options.keys ?? [],
      };
      wallets.set(name, wallet);
      return wallet;
    },
    revokeGrantsOf(client) {
      for (const grant of grants.values()) if (grant.client === client) grant.state = 'revoked';
    },
  };
  provider.resources = createResources({ base: `${base}${RS}`, walletById, grants });

  /** The grant an access token belongs to, with the request's signature checked against its client. */
  async function authorize(request: ProviderRequest): Promise<Grant> {
    const value = /^GNAP (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const grant = [...grants.values()].find((g) => g.token === value);
    if (!grant || grant.state === 'revoked' || grant.state === 'pending' || grant.state === 'rejected') {
      throw new ApiError(401, '401', 'Invalid Token', { 'www-authenticate': `GNAP as_uri=${base}${AUTH}` });
    }
    await verifySignature(request, walletById(grant.client)?.keys ?? []);
    return grant;
  }

  function walletServer(request: ProviderRequest): ProviderResponse {
    const [name = '', extra] = request.path.slice(WA.length).split('/');
    const wallet = wallets.get(name);
    if (!wallet) throw new ApiError(404, '404', 'no such wallet address');
    const specPath = extra === 'jwks.json' ? '/jwks.json' : '/';
    validateRequest(waSpec, specPath, request, {});
    const answer =
      specPath === '/jwks.json'
        ? { status: 200, body: { keys: wallet.keys } }
        : {
            status: 200,
            body: {
              id: wallet.id,
              publicName: wallet.name,
              assetCode: wallet.assetCode,
              assetScale: wallet.assetScale,
              authServer: `${base}${AUTH}`,
              resourceServer: `${base}${RS}`,
            },
          };
    validateResponse(waSpec, specPath, request.method, answer);
    return answer;
  }

  async function grantRequest(request: ProviderRequest): Promise<ProviderResponse> {
    validateRequest(asSpec, '/', request, {});
    const body = request.body as {
      client: string | { walletAddress: string };
      access_token: { access: Grant['access'] };
      interact?: { start: string[]; finish?: { method: string; uri: string; nonce: string } };
    };
    const client = typeof body.client === 'string' ? body.client : body.client.walletAddress;
    const clientWallet = walletById(client);
    if (!clientWallet) throw new ApiError(400, 'invalid_client', `unknown client wallet address ${client}`);
    await verifySignature(request, clientWallet.keys);
    const id = randomUUID();
    const interactive = body.access_token.access.some((a) => a.type === 'outgoing-payment');
    const grant: Grant = {
      id,
      client,
      access: body.access_token.access,
      token: randomBytes(20).toString('hex'),
      manage: `${base}${AUTH}/token/${id}`,
      continueToken: randomBytes(20).toString('hex'),
      state: interactive ? 'pending' : 'finalized',
      spent: 0n,
    };
    grants.set(id, grant);
    const continuation = {
      access_token: { value: grant.continueToken },
      uri: `${base}${AUTH}/continue/${id}`,
    };
    if (!interactive) {
      return {
        status: 200,
        body: {
          access_token: { value: grant.token, manage: grant.manage, expires_in: 600, access: grant.access },
          continue: continuation,
        },
      };
    }
    const finish = body.interact?.finish;
    if (!body.interact?.start.includes('redirect') || !finish) {
      throw new ApiError(
        400,
        'invalid_request',
        'outgoing payments need an interaction with a finish redirect',
      );
    }
    grant.finish = { uri: finish.uri, nonce: finish.nonce };
    grant.serverNonce = randomUUID();
    return {
      status: 200,
      body: {
        interact: { redirect: `${base}${AUTH}/interact/${id}`, finish: grant.serverNonce },
        continue: { ...continuation, wait: 0 },
      },
    };
  }

  /** The consent page: a person approves (or refuses) and is sent back to the client's finish URI. */
  function consent(grantId: string, decision: string | undefined): ProviderResponse {
    const grant = grants.get(grantId);
    if (!grant?.finish || grant.state !== 'pending')
      throw new ApiError(404, 'invalid_request', 'no such interaction');
    const choice = provider.consent === 'ask' ? decision : provider.consent;
    if (choice === undefined) return { status: 200, html: consentPage(grant) };
    const target = new URL(grant.finish.uri);
    if (choice !== 'approve') {
      grant.state = 'rejected';
      target.searchParams.set('result', 'grant_rejected');
    } else {
      grant.state = 'approved';
      grant.interactRef = randomUUID();
      const hash = createHash('sha256')
        .update(`${grant.finish.nonce}\n${grant.serverNonce ?? ''}\n${grant.interactRef}\n${base}${AUTH}`)
        .digest('base64');
      target.searchParams.set('hash', hash);
      target.searchParams.set('interact_ref', grant.interactRef);
    }
    return { status: 302, headers: { location: target.href } };
  }

  async function continueGrant(request: ProviderRequest, grantId: string): Promise<ProviderResponse> {
    validateRequest(asSpec, '/continue/{id}', request, { id: grantId });
    const grant = grants.get(grantId);
    const token = /^GNAP (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!grant || token !== grant.continueToken)
      throw new ApiError(401, 'invalid_continuation', 'unknown continuation');
    await verifySignature(request, walletById(grant.client)?.keys ?? []);
    const ref = (request.body as { interact_ref?: string } | undefined)?.interact_ref;
    if (grant.state !== 'approved' || ref !== grant.interactRef)
      throw new ApiError(401, 'request_denied', 'the grant was not approved');
    grant.state = 'finalized';
    return {
      status: 200,
      body: {
        access_token: { value: grant.token, manage: grant.manage, expires_in: 600, access: grant.access },
        continue: {
          access_token: { value: grant.continueToken },
          uri: `${base}${AUTH}/continue/${grant.id}`,
        },
      },
    };
  }

  async function manageToken(request: ProviderRequest, grantId: string): Promise<ProviderResponse> {
    validateRequest(asSpec, '/token/{id}', request, { id: grantId });
    const grant = grants.get(grantId);
    const token = /^GNAP (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!grant || token !== grant.token || grant.state === 'revoked')
      throw new ApiError(401, 'invalid_rotation', 'unknown token');
    await verifySignature(request, walletById(grant.client)?.keys ?? []);
    if (request.method === 'DELETE') {
      grant.state = 'revoked';
      return { status: 204 };
    }
    grant.token = randomBytes(20).toString('hex');
    return {
      status: 200,
      body: {
        access_token: { value: grant.token, manage: grant.manage, expires_in: 600, access: grant.access },
      },
    };
  }

  async function route(
    request: ProviderRequest,
  ): Promise<{ answer: ProviderResponse; spec?: { spec: typeof asSpec; path: string } }> {
    const { path } = request;
    if (path.startsWith(WA)) return { answer: walletServer(request) };
    if (path === AUTH && request.method === 'POST')
      return { answer: await grantRequest(request), spec: { spec: asSpec, path: '/' } };
    const auth = new RegExp(`^${AUTH}/(interact|continue|token)/([^/]+)$`).exec(path);
    if (auth?.[1] === 'interact') return { answer: consent(auth[2] ?? '', request.query.decision) };
    if (auth?.[1] === 'continue')
      return {
        answer: await continueGrant(request, auth[2] ?? ''),
        spec: { spec: asSpec, path: '/continue/{id}' },
      };
    if (auth?.[1] === 'token')
      return {
        answer: await manageToken(request, auth[2] ?? ''),
        spec: { spec: asSpec, path: '/token/{id}' },
      };
    if (path.startsWith(RS)) {
      const { answer, specPath, params } = await provider.resources.handle(
        request,
        path.slice(RS.length),
        authorize,
        (p, params) => validateRequest(rsSpec, p, request, params),
      );
      return { answer: { ...answer }, spec: { spec: rsSpec, path: specPath }, ...(params ? {} : {}) };
    }
    throw new ApiError(404, '404', `no route ${request.method} ${path}`);
  }

  server.on('request', (req, res) => {
    readRequest(req, base)
      .then(async (request) => {
        try {
          const { answer, spec } = await route(request);
          if (spec && answer.body !== undefined)
            validateResponse(spec.spec, spec.path, request.method, answer);
          send(res, answer);
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          provider.refusals.push(`${request.method} ${request.path}: ${error.status} ${error.message}`);
          send(res, {
            status: error.status,
            body: { error: { code: error.code, description: error.message } },
            headers: error.headers,
          });
        }
      })
      .catch((error: unknown) => {
        provider.refusals.push(`internal: ${String(error)}`);
        send(res, { status: 500, body: { error: { code: 'internal', description: String(error) } } });
      });
  });
  return provider;
}
