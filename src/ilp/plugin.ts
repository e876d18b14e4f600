import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

/** The part of the ILP plugin interface (RFC 24) codiusd uses. */
export interface IlpPlugin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  sendData(data: Buffer): Promise<Buffer>;
  registerDataHandler(handler: (data: Buffer) => Promise<Buffer>): void;
  deregisterDataHandler(): void;
  on(event: 'connect' | 'disconnect', listener: () => void): unknown;
  removeListener(event: 'connect' | 'disconnect', listener: () => void): unknown;
}

/** How to reach the ILP provider (normally the local moneyd); from ILP_PLUGIN, ILP_CREDENTIALS, ILP_BTP_SERVER. */
export interface IlpSettings {
  plugin: string;
  credentials: Record<string, unknown> | null;
  btpServer: string | null;
}

export const DEFAULT_BTP_SERVER = 'btp+ws://localhost:7768';
const BTP_PLUGIN = 'ilp-plugin-btp';

type PluginFactory = () => IlpPlugin;

/**
 * Creates a plugin with `ilp-plugin`, the standard way to reach moneyd. That package reads only
 * process.env, so the validated settings are put there for the duration of the (synchronous) call and the
 * previous values restored: the config stays the one source of truth and tests can run several settings.
 * Without ILP_CREDENTIALS each plugin gets a fresh random BTP secret, hence its own moneyd sub-account.
 */
export function createIlpPlugin(settings: IlpSettings): IlpPlugin {
  const scoped: Record<string, string | undefined> = {
    ILP_PLUGIN: settings.plugin,
    ILP_CREDENTIALS: settings.credentials ? JSON.stringify(settings.credentials) : undefined,
    ILP_BTP_SERVER: settings.btpServer ?? undefined,
  };
  const saved = Object.fromEntries(Object.keys(scoped).map((name) => [name, process.env[name]]));
  const assign = (values: Record<string, string | undefined>): void => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
  };
  assign(scoped);
  try {
    return (requireHere('ilp-plugin') as PluginFactory)();
  } finally {
    assign(saved);
  }
}

/**
 * Where a BTP plugin built from these settings connects, if it is a BTP plugin with a ws URL; used to see
 * whether a local moneyd answers before starting an embedded one.
 */
export function btpEndpoint(settings: IlpSettings): { host: string; port: number } | null {
  if (settings.plugin !== BTP_PLUGIN) return null;
  const server = settings.credentials
    ? settings.credentials.server
    : (settings.btpServer ?? DEFAULT_BTP_SERVER);
  if (typeof server !== 'string') return null;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return null;
  }
  const secure = url.protocol === 'btp+wss:';
  if (!secure && url.protocol !== 'btp+ws:') return null;
  const port = url.port ? Number(url.port) : secure ? 443 : 80;
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
}
