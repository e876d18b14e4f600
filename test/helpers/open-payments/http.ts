// The HTTP side of the stand-in Open Payments account provider: requests and responses validated against
// the OpenAPI specs bundled in @interledger/open-payments, HTTP message signatures verified against the
// client's published keys, and the API's error bodies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isHttpMethod, type OpenAPI } from '@interledger/openapi';
import { validateSignature, validateSignatureHeaders, type JWK } from '@interledger/http-signature-utils';

/** A request as the provider's handlers see it. */
export interface ProviderRequest {
  method: string;
  /** The full URL the client requested (what it signed as @target-uri). */
  url: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  rawBody: string;
  query: Record<string, string>;
}

export interface ProviderResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** A page for a person (the consent page) instead of a JSON body. */
  html?: string;
}

/** An error as the API answers it: `{"error": {"code", "description"}}` with its status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
  }
}

export async function readRequest(req: IncomingMessage, base: string): Promise<ProviderRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const rawBody = Buffer.concat(chunks).toString('utf8');
  const url = new URL(req.url ?? '/', base);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers[name.toLowerCase()] = value;
  }
  let body: unknown;
  try {
    body = rawBody === '' ? undefined : JSON.parse(rawBody);
  } catch {
    throw new ApiError(400, 'invalid_request', 'the body is not JSON');
  }
  return {
    method: (req.method ?? 'GET').toUpperCase(),
    url: url.href,
    path: url.pathname,
    headers,
    body,
    rawBody,
    query: Object.fromEntries(url.searchParams),
  };
}

export function send(res: ServerResponse, answer: ProviderResponse): void {
  if (answer.html !== undefined) {
    res.writeHead(answer.status, { 'content-type': 'text/html; charset=utf-8', ...answer.headers });
    res.end(answer.html);
    return;
  }
  const body = answer.body === undefined ? '' : JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    ...(body ? { 'content-type': 'application/json' } : {}),
    ...answer.headers,
  });
  res.end(body);
}

type HttpMethod = Parameters<OpenAPI['createRequestValidator']>[0]['method'];
/** The spec's method of a request (the validators key operations by the lower-case name). */
function methodOf(name: string): HttpMethod {
  const method = name.toLowerCase();
  if (!isHttpMethod(method)) throw new ApiError(405, 'invalid_request', `no method ${name}`);
  return method;
}
// One validator per operation: @interledger/openapi adds the path's parameters to the operation each time
// it makes one, so a second validator of an operation would see them twice.
const requestValidators = new WeakMap<OpenAPI, Map<string, (request: unknown) => boolean>>();
const responseValidators = new WeakMap<
  OpenAPI,
  Map<string, (response: { status: number; body: unknown }) => boolean>
>();

function cached<V>(cache: WeakMap<OpenAPI, Map<string, V>>, spec: OpenAPI, key: string, make: () => V): V {
  const bySpec = cache.get(spec) ?? new Map<string, V>();
  cache.set(spec, bySpec);
  const known = bySpec.get(key);
  if (known) return known;
  const made = make();
  bySpec.set(key, made);
  return made;
}

/** Checks a request against its operation in the spec (`specPath` is the spec's path template). */
export function validateRequest(
  spec: OpenAPI,
  specPath: string,
  request: ProviderRequest,
  params: Record<string, string>,
): void {
  const method = methodOf(request.method);
  const validator = cached(requestValidators, spec, `${method} ${specPath}`, () =>
    spec.createRequestValidator({ path: specPath, method }),
  );
  try {
    validator({ headers: request.headers, body: request.body ?? {}, query: request.query, params });
  } catch (error) {
    const errors = (error as { errors?: Array<{ message: string }> }).errors ?? [];
    throw new ApiError(
      400,
      'invalid_request',
      `request does not match the spec: ${errors.map((e) => e.message).join('; ')}`,
    );
  }
}

/** Checks a response against the spec before it goes out: a stand-in that answered wrong would hide bugs. */
export function validateResponse(
  spec: OpenAPI,
  specPath: string,
  method: string,
  answer: ProviderResponse,
): void {
  const lower = methodOf(method);
  const validator = cached(responseValidators, spec, `${lower} ${specPath}`, () =>
    spec.createResponseValidator({ path: specPath, method: lower }),
  );
  try {
    validator({ status: answer.status, body: answer.body });
  } catch (error) {
    const errors = (error as { errors?: Array<{ message: string }> }).errors ?? [];
    throw new Error(
      `the stand-in provider's own answer does not match the spec: ${errors.map((e) => e.message).join('; ')}`,
    );
  }
}

/** Verifies the request's HTTP message signature with the key (by `keyid`) of the client's wallet address. */
export async function verifySignature(request: ProviderRequest, keys: readonly JWK[]): Promise<void> {
  const signed = {
    method: request.method,
    url: request.url,
    headers: request.headers,
    ...(request.rawBody ? { body: request.rawBody } : {}),
  };
  if (!validateSignatureHeaders(signed))
    throw new ApiError(401, 'invalid_client', 'missing or malformed signature headers');
  const keyId = /keyid="([^"]+)"/.exec(request.headers['signature-input'] ?? '')?.[1];
  const key = keys.find((k) => k.kid === keyId);
  if (!key) throw new ApiError(401, 'invalid_client', `no key ${keyId ?? ''} published for the client`);
  if (!(await validateSignature(key, signed))) throw new ApiError(401, 'invalid_client', 'invalid signature');
}
