import { booleanOf, ConfigError, numberOf, readBoolean, readString, stringOf, type Env } from './read.js';

export interface Operations {
  admin: {
    enabled: boolean;
    host: string;
    port: number;
    /** CODIUS_ADMIN_TOKEN; null: the token kept in CODIUS_ROOT/admin-token (made on first start). */
    token: string | null;
    /** Host names the listener answers to besides its addresses and localhost (CODIUS_ADMIN_HOSTS). */
    hostnames: string[];
  };
  selfTest: {
    enabled: boolean;
    retries: number;
    intervalMs: number;
    /** 0: once after start. */
    repeatMs: number;
    /** Where to connect instead of resolving the public host name. */
    address: { host: string; port: number } | null;
  };
}

function parseHostPort(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(':');
  const host = text.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(text.slice(at + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError('CODIUS_SELF_TEST_ADDRESS', `CODIUS_SELF_TEST_ADDRESS has no valid port: ${text}`);
  }
  return { host, port };
}

/** The admin listener and the self test, checked together with the public port they must not clash with. */
export function readOperations(env: Env, context: { port: number; dev: boolean }): Operations {
  const admin = {
    enabled: booleanOf(env, 'CODIUS_ADMIN_API'),
    host: stringOf(env, 'CODIUS_ADMIN_BIND_IP'),
    port: numberOf(env, 'CODIUS_ADMIN_PORT'),
    token: readString(env, 'CODIUS_ADMIN_TOKEN') ?? null,
    hostnames: (readString(env, 'CODIUS_ADMIN_HOSTS') ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== ''),
  };
  if (admin.enabled && admin.port === context.port) {
    throw new ConfigError(
      'CODIUS_ADMIN_PORT',
      `CODIUS_ADMIN_PORT must differ from CODIUS_PORT; both are ${context.port}`,
    );
  }
  const address = readString(env, 'CODIUS_SELF_TEST_ADDRESS');
  return {
    admin,
    selfTest: {
      enabled: readBoolean(env, 'CODIUS_SELF_TEST') ?? !context.dev,
      retries: numberOf(env, 'CODIUS_SELF_TEST_RETRIES'),
      intervalMs: Math.round(numberOf(env, 'CODIUS_SELF_TEST_INTERVAL') * 1000),
      repeatMs: numberOf(env, 'CODIUS_SELF_TEST_REPEAT') * 1000,
      address: address === undefined ? null : parseHostPort(address),
    },
  };
}
