import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ManifestHash } from '../domain/types.js';
import { downstreamResponseHeaders } from './headers.js';

/** What an upstream error means for the client. */
export function describeUpstreamError(error: Error & { code?: string }, hash: ManifestHash, port: number) {
  switch (error.code) {
    case 'ECONNREFUSED':
      return { status: 502, message: `pod ${hash} refused the connection on port ${port}` };
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { status: 504, message: `pod ${hash} did not accept the connection in time` };
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { status: 504, message: `pod ${hash} did not answer in time` };
    default:
      return { status: 502, message: `pod ${hash} failed to answer (${error.code ?? error.name})` };
  }
}

/** The error a proxied request ends with when its client went away first: nothing is answered. */
export const CLIENT_GONE = 'UND_ERR_ABORTED';

/**
 * One proxied HTTP request: the undici dispatch handler that streams the pod's answer into the client's
 * response. Body chunks are written as they arrive; when the client cannot take more, undici stops reading
 * from the pod until the response drains (backpressure both ways: undici reads the request body as the pod
 * accepts it).
 */
export class ProxiedExchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private finished = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly onFailure: (error: Error) => void,
    private readonly onDone: () => void,
  ) {
    res.once('close', () => {
      // The client went away first: stop talking to the pod.
      if (!this.finished) {
        this.controller?.abort(
          Object.assign(new Error('the client closed the connection'), { code: CLIENT_GONE }),
        );
      }
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    if (statusCode < 200) return; // 1xx informational: not passed on
    // The pod's header lines as received (names' case and repeats kept), not undici's parsed object.
    this.res.writeHead(statusCode, downstreamResponseHeaders(controller.rawHeaders as Buffer[]));
    // Only a response with a body can fill the client's socket and pause the pod.
    this.res.on('drain', () => controller.resume());
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    this.finish();
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.finish();
    this.onFailure(error);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.onDone();
  }
}
