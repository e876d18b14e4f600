// ilp-protocol-stream 2.7 assigns `closed` on its streams, which Node 18 and later made a read-only
// getter of every stream: without this, the first closed STREAM throws. Loads the module with the fix.
export function loadStream(require) {
  const stream = require('ilp-protocol-stream');
  const closed = new WeakMap();
  Object.defineProperty(stream.DataAndMoneyStream.prototype, 'closed', {
    configurable: true,
    get() {
      return closed.get(this) ?? false;
    },
    set(value) {
      closed.set(this, value);
    },
  });
  return stream;
}
