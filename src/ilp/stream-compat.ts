import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/**
 * ilp-protocol-stream (1.x and 2.x) assigns `this.closed` in its Duplex stream class, but Node 18 made
 * `closed` a getter-only accessor of Readable.prototype, so the assignment throws on the first payment.
 * Giving the class its own settable `closed` (kept per instance) restores the library's behaviour; Node's
 * own stream machinery reads its internal state, not this property.
 */
export function makeStreamClosedSettable(streamClass: { prototype: object }): void {
  const prototype = streamClass.prototype;
  if (Object.prototype.hasOwnProperty.call(prototype, 'closed')) return;
  const closed = new WeakMap<object, boolean>();
  Object.defineProperty(prototype, 'closed', {
    configurable: true,
    enumerable: false,
    get(this: object): boolean {
      return closed.get(this) ?? false;
    },
    set(this: object, value: boolean) {
      closed.set(this, value);
    },
  });
}

/**
 * Applies the fix to the copy of ilp-protocol-stream that `fromModule` (a module path or URL) resolves,
 * e.g. the one nested under ilp-fetch; by default to codiusd's own copy.
 */
export function fixIlpProtocolStream(fromModule: string | URL = import.meta.url): void {
  const load = fromModule === import.meta.url ? requireHere : createRequire(fromModule);
  const stream = load('ilp-protocol-stream') as { DataAndMoneyStream: { prototype: object } };
  makeStreamClosedSettable(stream.DataAndMoneyStream);
}
