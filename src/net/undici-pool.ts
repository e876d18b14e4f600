import { createRequire } from 'node:module';
import type { Pool as UndiciPool } from 'undici';

const requireUndici = createRequire(import.meta.url);

/**
 * undici's connection pool, loaded alone: the package's entry point also loads fetch, WebSocket, caching
 * and mocking (about 850 KB of code) that codiusd never uses, and would keep it resident for the daemon's
 * life. The entry point's one other job is done here the same way: it gives every dispatcher the
 * `request`/`stream`/`pipeline`/`connect`/`upgrade` methods.
 */
function loadPool(): typeof UndiciPool {
  const Dispatcher = requireUndici('undici/lib/dispatcher/dispatcher.js') as { prototype: object };
  const api = requireUndici('undici/lib/api/index.js') as Record<string, unknown>;
  for (const [name, method] of Object.entries(api)) {
    if (!(name in Dispatcher.prototype)) Object.assign(Dispatcher.prototype, { [name]: method });
  }
  return requireUndici('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
}

export const Pool = loadPool();
export type Pool = UndiciPool;
