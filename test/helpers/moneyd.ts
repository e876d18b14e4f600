import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { capturingLogger } from './logs.js';
import {
  isListening,
  MONEYD_LOCAL_HOST,
  MONEYD_LOCAL_PORT,
  startEmbeddedMoneyd,
} from '../../src/ilp/moneyd-local.js';
import type { SupervisedProcess } from '../../src/process/supervisor.js';

export interface MoneydFixture {
  /** Kills moneyd (as a crash would) and waits until the port is free. */
  stop(): Promise<void>;
  /** Starts it again after stop(). */
  restart(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A real `moneyd local` for one test file, started with codiusd's own embedded-moneyd code and stopped at
 * the end. Its port is fixed (7768), so a moneyd left running by someone else is an error, not reused:
 * the tests must own the one they stop and restart.
 */
export async function setupMoneyd(): Promise<MoneydFixture> {
  // A moneyd embedded by a daemon of an earlier test file exits within a second of its parent.
  for (let i = 0; i < 50 && (await isListening(MONEYD_LOCAL_HOST, MONEYD_LOCAL_PORT, 200)); i += 1) {
    await sleep(100);
  }
  if (await isListening(MONEYD_LOCAL_HOST, MONEYD_LOCAL_PORT)) {
    throw new Error(
      `port ${MONEYD_LOCAL_PORT} is in use: stop the moneyd running there (a quick-start codiusd: Ctrl-C it) before the tests`,
    );
  }
  const { logger } = capturingLogger();
  let moneyd: SupervisedProcess | undefined = await startEmbeddedMoneyd({ logger });
  after(async () => {
    await moneyd?.stop();
  });
  return {
    async stop() {
      await moneyd?.stop();
      moneyd = undefined;
      while (await isListening(MONEYD_LOCAL_HOST, MONEYD_LOCAL_PORT, 200)) await sleep(50);
    },
    async restart() {
      moneyd ??= await startEmbeddedMoneyd({ logger });
    },
  };
}

/**
 * BTP credentials for an account of its own on the local moneyd, with a 3 s response timeout instead of
 * ilp-plugin-btp's 35 s. A STREAM close frame sent to a payer that has already gone waits out that timeout;
 * in tests it would keep the process alive long after the last test.
 */
export function testBtpCredentials(): { server: string; responseTimeout: number } {
  return {
    server: `btp+ws://:${randomBytes(16).toString('hex')}@${MONEYD_LOCAL_HOST}:${MONEYD_LOCAL_PORT}`,
    responseTimeout: 3_000,
  };
}
