import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';
import { isAlive, startSupervised, type SupervisedProcess } from '../process/supervisor.js';
import { sleep } from '../util/sleep.js';

/** `moneyd local` always listens here (host and port are fixed in moneyd). */
export const MONEYD_LOCAL_HOST = '127.0.0.1';
export const MONEYD_LOCAL_PORT = 7768;
const READY_TIMEOUT_MS = 20_000;

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

/** Whether a BTP endpoint is the one an embedded `moneyd local` would serve. */
export function isMoneydLocalEndpoint(endpoint: { host: string; port: number }): boolean {
  return LOOPBACK_NAMES.has(endpoint.host) && endpoint.port === MONEYD_LOCAL_PORT;
}

/** Whether something accepts TCP connections on host:port. */
export function isListening(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (listening: boolean): void => {
      socket.destroy();
      resolve(listening);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitUntilListening(child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (isAlive(child)) {
    if (await isListening(MONEYD_LOCAL_HOST, MONEYD_LOCAL_PORT, 500)) return;
    if (Date.now() > deadline) throw new Error(`moneyd local did not listen within ${READY_TIMEOUT_MS} ms`);
    await sleep(50);
  }
}

/**
 * Runs `moneyd local` from the moneyd package as a supervised child: a one-node ILP network with play
 * money, so a development host needs nothing else. It runs in its own process because moneyd dies on
 * unhandled rejections when a client disconnects mid-packet; `--unhandled-rejections=warn` keeps it up,
 * and the supervisor restarts it if it still dies. Never used in production: its money is not real.
 */
export async function startEmbeddedMoneyd(options: { logger: Logger }): Promise<SupervisedProcess> {
  const entry = fileURLToPath(new URL('./moneyd-child.js', import.meta.url));
  return startSupervised({
    name: 'embedded moneyd local',
    command: process.execPath,
    args: ['--unhandled-rejections=warn', entry],
    // DEBUG would make its dependencies print BTP credentials.
    env: { ...process.env, DEBUG: '' },
    logger: options.logger,
    waitReady: waitUntilListening,
  });
}
