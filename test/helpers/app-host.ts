import { after } from 'node:test';
import { createApp, type App } from '../../src/app/app.js';
import { loadConfig } from '../../src/config/config.js';
import { capturingLogger } from './logs.js';
import { until } from './wait.js';

/**
 * A codiusd started in this process from `env` (with no self test and no bootstrap peers unless `env`
 * says otherwise), stopped when the test file ends. `anyPort` lets it listen on a port the system picks.
 */
export async function startAppHost(
  env: Record<string, string>,
  options: { anyPort?: boolean } = {},
): Promise<{ app: App; logs: ReturnType<typeof capturingLogger> }> {
  const logs = capturingLogger();
  const config = loadConfig({
    CODIUS_SELF_TEST: 'false',
    CODIUS_BOOTSTRAP_PEERS: '[]',
    // The built-in engine unless a test chooses: the default would be HAProxy on this machine.
    CODIUS_PROXY_ENGINE: 'builtin',
    ...env,
  });
  const app = createApp({ config: options.anyPort ? { ...config, port: 0 } : config, logger: logs.logger });
  await app.start();
  after(() => app.stop());
  // Pods recorded before the start come back during the first reconcile pass: tests begin after it.
  await until('the first reconcile pass is done', () => app.podsReconciled());
  return { app, logs };
}
