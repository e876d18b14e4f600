import { RuntimeApiError } from '../errors.js';
import { describeBody, type UnixHttpClient, type UnixResponse } from '../unix-http.js';

/** Oldest libpod API with every call used here; Debian 12 serves 4.3.1. */
export const LIBPOD_API = '/v4.0.0/libpod';

/** One libpod call: method, path under the versioned API, optional JSON body and deadline. */
export type LibpodCall = (
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  json?: unknown,
  timeoutMs?: number,
) => Promise<UnixResponse>;

export function libpodCaller(client: UnixHttpClient): LibpodCall {
  return (method, path, json, timeoutMs) =>
    client.request({
      method,
      path: `${LIBPOD_API}${path}`,
      ...(json === undefined ? {} : { json }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
}

/** libpod's error text: the `message` of its JSON error body, else the body itself. */
export function errorMessage(response: UnixResponse): string {
  try {
    const parsed = JSON.parse(response.body.toString('utf8')) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return describeBody(response);
}

export function expectStatus(response: UnixResponse, what: string, ...ok: number[]): void {
  if (!ok.includes(response.status)) {
    throw new RuntimeApiError(
      response.status,
      `podman ${what}: ${response.status} ${errorMessage(response)}`,
    );
  }
}
