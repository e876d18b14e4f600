// The stand-in provider's resource server: incoming payments, quotes and outgoing payments, with balances
// moved exactly from a payer's wallet to the incoming payment an outgoing payment pays.
import { randomBytes, randomUUID } from 'node:crypto';
import { ApiError, type ProviderRequest, type ProviderResponse } from './http.js';
import type { Grant, Wallet } from './provider.js';

interface Amount {
  value: string;
  assetCode: string;
  assetScale: number;
}

export interface IncomingPaymentState {
  id: string;
  walletAddress: string;
  completed: boolean;
  incomingAmount?: Amount;
  received: bigint;
  expiresAt?: string;
  metadata?: Record<string, unknown>;
  createdAt: string;
}

interface QuoteState {
  id: string;
  walletAddress: string;
  receiver: string;
  debit: bigint;
  receive: bigint;
  asset: Omit<Amount, 'value'>;
  expiresAt: string;
  createdAt: string;
}

interface OutgoingState {
  id: string;
  walletAddress: string;
  quoteId: string;
  receiver: string;
  debit: bigint;
  sent: bigint;
  failed: boolean;
  asset: Omit<Amount, 'value'>;
  createdAt: string;
}

export interface Resources {
  incoming: Map<string, IncomingPaymentState>;
  handle(
    request: ProviderRequest,
    path: string,
    authorize: (request: ProviderRequest) => Promise<Grant>,
    validate: (specPath: string, params: Record<string, string>) => void,
  ): Promise<{ answer: ProviderResponse; specPath: string; params?: Record<string, string> }>;
}

const amount = (value: bigint, asset: Omit<Amount, 'value'>): Amount => ({
  value: value.toString(),
  ...asset,
});

function allows(grant: Grant, type: string, action: string, wallet: string): boolean {
  return grant.access.some(
    (a) =>
      a.type === type &&
      a.actions.includes(action) &&
      (a.identifier === undefined || a.identifier === wallet),
  );
}

export function createResources(options: {
  base: string;
  walletById: (id: string) => Wallet | undefined;
  grants: Map<string, Grant>;
}): Resources {
  const { base, walletById } = options;
  const incoming = new Map<string, IncomingPaymentState>();
  const quotes = new Map<string, QuoteState>();
  const outgoing = new Map<string, OutgoingState>();

  function incomingBody(payment: IncomingPaymentState, withMethods: boolean): Record<string, unknown> {
    const wallet = walletById(payment.walletAddress);
    const asset = { assetCode: wallet?.assetCode ?? 'XRP', assetScale: wallet?.assetScale ?? 9 };
    return {
      id: payment.id,
      walletAddress: payment.walletAddress,
      completed: payment.completed,
      ...(payment.incomingAmount ? { incomingAmount: payment.incomingAmount } : {}),
      receivedAmount: amount(payment.received, asset),
      ...(payment.expiresAt ? { expiresAt: payment.expiresAt } : {}),
      ...(payment.metadata ? { metadata: payment.metadata } : {}),
      createdAt: payment.createdAt,
      ...(withMethods
        ? {
            methods: [
              {
                type: 'ilp',
                ilpAddress: 'test.stand-in.incoming',
                sharedSecret: randomBytes(32).toString('base64url'),
              },
            ],
          }
        : {}),
    };
  }

  function createIncoming(request: ProviderRequest, grant: Grant): ProviderResponse {
    const body = request.body as {
      walletAddress: string;
      incomingAmount?: Amount;
      expiresAt?: string;
      metadata?: Record<string, unknown>;
    };
    const wallet = walletById(body.walletAddress);
    if (!wallet) throw new ApiError(400, '400', 'unknown wallet address');
    if (!allows(grant, 'incoming-payment', 'create', wallet.id))
      throw new ApiError(403, '403', 'Insufficient Grant');
    if (
      body.incomingAmount &&
      (body.incomingAmount.assetCode !== wallet.assetCode ||
        body.incomingAmount.assetScale !== wallet.assetScale)
    ) {
      throw new ApiError(400, '400', "incomingAmount is not in the wallet's asset");
    }
    const payment: IncomingPaymentState = {
      id: `${base}/incoming-payments/${randomUUID()}`,
      walletAddress: wallet.id,
      completed: false,
      ...(body.incomingAmount ? { incomingAmount: body.incomingAmount } : {}),
      received: 0n,
      ...(body.expiresAt ? { expiresAt: body.expiresAt } : {}),
      ...(body.metadata ? { metadata: body.metadata } : {}),
      createdAt: new Date().toISOString(),
    };
    incoming.set(payment.id, payment);
    return { status: 201, body: incomingBody(payment, true) };
  }

  function quote(request: ProviderRequest, grant: Grant): ProviderResponse {
    const body = request.body as {
      walletAddress: string;
      receiver: string;
      debitAmount?: Amount;
      receiveAmount?: Amount;
    };
    const payer = walletById(body.walletAddress);
    const receiver = incoming.get(body.receiver);
    if (!payer || !allows(grant, 'quote', 'create', payer.id))
      throw new ApiError(403, '403', 'Insufficient Grant');
    if (!receiver || receiver.completed) throw new ApiError(400, '400', 'invalid receiver');
    const asset = { assetCode: payer.assetCode, assetScale: payer.assetScale };
    const rest = BigInt(receiver.incomingAmount?.value ?? '0') - receiver.received;
    const receive = body.debitAmount
      ? BigInt(body.debitAmount.value)
      : body.receiveAmount
        ? BigInt(body.receiveAmount.value)
        : rest;
    if (receive <= 0n) throw new ApiError(400, '400', 'non-positive receive amount');
    const state: QuoteState = {
      id: `${base}/quotes/${randomUUID()}`,
      walletAddress: payer.id,
      receiver: receiver.id,
      debit: receive,
      receive,
      asset,
      expiresAt: new Date(Date.now() + 5 * 60_000).toISOString(),
      createdAt: new Date().toISOString(),
    };
    quotes.set(state.id, state);
    return {
      status: 201,
      body: {
        id: state.id,
        walletAddress: state.walletAddress,
        receiver: state.receiver,
        receiveAmount: amount(state.receive, asset),
        debitAmount: amount(state.debit, asset),
        method: 'ilp',
        expiresAt: state.expiresAt,
        createdAt: state.createdAt,
      },
    };
  }

  function outgoingBody(payment: OutgoingState): Record<string, unknown> {
    return {
      id: payment.id,
      walletAddress: payment.walletAddress,
      quoteId: payment.quoteId,
      receiver: payment.receiver,
      failed: payment.failed,
      receiveAmount: amount(payment.debit, payment.asset),
      debitAmount: amount(payment.debit, payment.asset),
      sentAmount: amount(payment.sent, payment.asset),
      createdAt: payment.createdAt,
    };
  }

  /** Pays a quote from the payer's balance, within the grant's debit limit, into the incoming payment. */
  function pay(request: ProviderRequest, grant: Grant): ProviderResponse {
    const body = request.body as { walletAddress: string; quoteId?: string };
    const payer = walletById(body.walletAddress);
    const state = body.quoteId ? quotes.get(body.quoteId) : undefined;
    if (!payer || !allows(grant, 'outgoing-payment', 'create', payer.id))
      throw new ApiError(403, '403', 'Insufficient Grant');
    if (!state || state.walletAddress !== payer.id) throw new ApiError(400, '400', 'unknown quote');
    const limits = grant.access.find((a) => a.type === 'outgoing-payment')?.limits;
    const limit = limits?.debitAmount as Amount | undefined;
    const repetition = intervalRepetition(limits?.interval);
    // An interval limit allows the debit amount again in each repetition of the interval.
    if (repetition !== grant.spentInterval) {
      grant.spentInterval = repetition;
      grant.spent = 0n;
    }
    if (limit && grant.spent + state.debit > BigInt(limit.value))
      throw new ApiError(403, '403', "the grant's debit limit is spent");
    const receiver = incoming.get(state.receiver);
    const payable = payer.balance >= state.debit && receiver !== undefined && !receiver.completed;
    const payment: OutgoingState = {
      id: `${base}/outgoing-payments/${randomUUID()}`,
      walletAddress: payer.id,
      quoteId: state.id,
      receiver: state.receiver,
      debit: state.debit,
      sent: payable ? state.debit : 0n,
      failed: !payable,
      asset: state.asset,
      createdAt: new Date().toISOString(),
    };
    if (payable) {
      payer.balance -= state.debit;
      receiver.received += state.debit;
      grant.spent += state.debit;
      const recipient = walletById(receiver.walletAddress);
      if (recipient) recipient.balance += state.debit;
    }
    quotes.delete(state.id);
    outgoing.set(payment.id, payment);
    return { status: 201, body: outgoingBody(payment) };
  }

  return {
    incoming,
    async handle(request, path, authorize, validate) {
      const grant = await authorize(request);
      const [, kind = '', id, action] = path.split('/');
      const url = id ? `${base}/${kind}/${id}` : '';
      if (kind === 'incoming-payments' && !id && request.method === 'POST') {
        validate('/incoming-payments', {});
        return { answer: createIncoming(request, grant), specPath: '/incoming-payments' };
      }
      if (kind === 'incoming-payments' && id) {
        const payment = incoming.get(url);
        if (!payment) throw new ApiError(404, '404', 'Not Found');
        const verb = action === 'complete' ? 'complete' : 'read';
        if (!allows(grant, 'incoming-payment', verb, payment.walletAddress))
          throw new ApiError(403, '403', 'Insufficient Grant');
        if (action === 'complete') {
          validate('/incoming-payments/{id}/complete', { id });
          payment.completed = true;
          return {
            answer: { status: 200, body: incomingBody(payment, false) },
            specPath: '/incoming-payments/{id}/complete',
          };
        }
        validate('/incoming-payments/{id}', { id });
        return {
          answer: { status: 200, body: incomingBody(payment, !payment.completed) },
          specPath: '/incoming-payments/{id}',
        };
      }
      if (kind === 'quotes' && request.method === 'POST') {
        validate('/quotes', {});
        return { answer: quote(request, grant), specPath: '/quotes' };
      }
      if (kind === 'outgoing-payments' && request.method === 'POST') {
        validate('/outgoing-payments', {});
        return { answer: pay(request, grant), specPath: '/outgoing-payments' };
      }
      if (kind === 'outgoing-payments' && id) {
        const payment = outgoing.get(url);
        if (!payment) throw new ApiError(404, '404', 'Not Found');
        validate('/outgoing-payments/{id}', { id });
        return { answer: { status: 200, body: outgoingBody(payment) }, specPath: '/outgoing-payments/{id}' };
      }
      throw new ApiError(404, '404', `no route ${request.method} ${path}`);
    },
  };
}

/** Which repetition of an ISO 8601 repeating interval `R/<start>/PT<n>S` now falls in; 0 without one. */
function intervalRepetition(interval: unknown): number {
  if (typeof interval !== 'string') return 0;
  const match = /^R\d*\/([^/]+)\/PT(\d+)S$/.exec(interval);
  if (!match) throw new ApiError(400, 'invalid_request', `unsupported interval ${interval}`);
  const start = Date.parse(match[1] ?? '');
  return Math.floor((Date.now() - start) / (Number(match[2]) * 1000));
}
