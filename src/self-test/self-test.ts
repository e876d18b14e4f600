import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import { firstWebSocketMessage, publicRequest, type ConnectTo } from './public-client.js';
import type { PaidResult } from './paid-request.js';

/** The self-test figures, as /info and the 503 of the gate show them (field names clients read). */
export interface SelfTestStats {
  selfTestSuccess: boolean;
  uploadSuccess: boolean;
  httpSuccess: boolean;
  wsSuccess: boolean;
  running: boolean;
}

export interface SelfTestReport extends SelfTestStats {
  /** When the last run finished (ms since the epoch), null before the first. */
  finishedAt: number | null;
  /** What failed in the last run, in a sentence; null when it passed. */
  failure: string | null;
  /** The pod URL of the last run's upload. */
  podUrl: string | null;
}

export interface SelfTestOptions {
  publicUri: string;
  retries: number;
  intervalMs: number;
  /** 0: once after start. */
  repeatMs: number;
  connectTo: ConnectTo | null;
  /** Sent as `Authorization: Bearer …` so the gate lets the self test's own upload through. */
  bypassToken: string;
  /** The image the pod runs (built on this host); throws when the runtime cannot have one. */
  image(): Promise<string>;
  /** POST /pods?duration=… on the public URI, paying what the host asks (at most `maxAmount`). */
  upload(url: string, body: string, headers: Record<string, string>): Promise<PaidResult>;
  logger: Logger;
  /** Test seam: time between steps. */
  sleep?: (ms: number) => Promise<void>;
  ca?: string | Buffer;
}

export interface SelfTest {
  /** The token its requests carry past the self-test gate. */
  readonly bypassToken: string;
  stats(): SelfTestStats;
  report(): SelfTestReport;
  /** Runs now (or joins the run in progress). */
  run(): Promise<SelfTestReport>;
  /** Runs after start and then every repeatMs, in the background. */
  start(): void;
  stop(): Promise<void>;
}

const POD_DURATION_SECONDS = 300;
const STEP_TIMEOUT_MS = 10_000;

/** Up to 1 + retries attempts of `step`, `intervalMs` apart, while not stopped; the last error if none succeeds. */
function attemptsOf(
  options: Pick<SelfTestOptions, 'retries' | 'intervalMs' | 'logger'>,
  pause: (ms: number) => Promise<void>,
  isStopped: () => boolean,
) {
  return async <T>(what: string, step: () => Promise<T>): Promise<T> => {
    let lastError: unknown;
    for (let attempt = 0; attempt <= options.retries && !isStopped(); attempt += 1) {
      if (attempt > 0) await pause(options.intervalMs);
      try {
        return await step();
      } catch (error) {
        lastError = error;
        options.logger.debug({ err: error, attempt: attempt + 1 }, `self test: ${what} failed`);
      }
    }
    throw new Error(`${what}: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  };
}

export function createSelfTest(options: SelfTestOptions): SelfTest {
  const { logger } = options;
  const pause = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let state: SelfTestReport = {
    selfTestSuccess: false,
    uploadSuccess: false,
    httpSuccess: false,
    wsSuccess: false,
    running: false,
    finishedAt: null,
    failure: null,
    podUrl: null,
  };
  let inProgress: Promise<SelfTestReport> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempts = attemptsOf(options, pause, () => stopped);

  async function uploadPod(): Promise<string> {
    const image = await options.image();
    const manifest = {
      name: randomBytes(20).toString('hex'),
      version: '1.0.0',
      machine: 'small',
      port: '3000',
      containers: [{ id: 'codius-test', image, environment: { PORT: '3000' } }],
    };
    const url = `${options.publicUri.replace(/\/$/, '')}/pods?duration=${POD_DURATION_SECONDS}`;
    return attempts('upload', async () => {
      const answer = await options.upload(url, JSON.stringify({ manifest }), {
        'content-type': 'application/json',
        accept: 'application/codius-v1+json',
        authorization: `Bearer ${options.bypassToken}`,
      });
      if (answer.status < 200 || answer.status > 299) {
        throw new Error(`POST /pods answered ${answer.status} ${answer.body.slice(0, 200)}`);
      }
      const podUrl = (JSON.parse(answer.body) as { url?: unknown }).url;
      if (typeof podUrl !== 'string') throw new Error('POST /pods answered without a pod url');
      return podUrl;
    });
  }

  async function runOnce(): Promise<SelfTestReport> {
    state = { ...state, running: true };
    const outcome = { uploadSuccess: false, httpSuccess: false, wsSuccess: false };
    let failure: string | null = null;
    let podUrl: string | null = null;
    const reach = {
      connectTo: options.connectTo,
      timeoutMs: STEP_TIMEOUT_MS,
      ...(options.ca ? { ca: options.ca } : {}),
    };
    try {
      podUrl = await uploadPod();
      outcome.uploadSuccess = true;
      await pause(options.intervalMs);
      await attempts(`GET ${podUrl}`, async () => {
        const response = await publicRequest(podUrl ?? '', { ...reach, method: 'GET' });
        const body = JSON.parse(response.body) as { imageUploaded?: unknown };
        if (response.status !== 200 || !body.imageUploaded) {
          throw new Error(`answered ${response.status} ${response.body.slice(0, 120)}`);
        }
      });
      outcome.httpSuccess = true;
      const wsUrl = podUrl.replace(/^http/, 'ws');
      await attempts(`WebSocket ${wsUrl}`, async () => {
        const message = JSON.parse(await firstWebSocketMessage(podUrl ?? '', reach)) as {
          websocketEnabled?: unknown;
        };
        if (!message.websocketEnabled) throw new Error('the pod did not greet with websocketEnabled');
      });
      outcome.wsSuccess = true;
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    const success = outcome.uploadSuccess && outcome.httpSuccess && outcome.wsSuccess;
    state = { ...outcome, selfTestSuccess: success, running: false, finishedAt: Date.now(), failure, podUrl };
    if (success)
      logger.info({ podUrl }, 'self test passed: upload, HTTP and WebSocket through the public URI');
    else logger.error({ failure, ...outcome }, `self test failed: ${failure ?? 'unknown'}`);
    return state;
  }

  function run(): Promise<SelfTestReport> {
    inProgress ??= runOnce().finally(() => {
      inProgress = undefined;
    });
    return inProgress;
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      void run().then(() => {
        if (options.repeatMs > 0) schedule(options.repeatMs);
      });
    }, delayMs);
    timer.unref();
  }

  return {
    bypassToken: options.bypassToken,
    stats: () => ({
      selfTestSuccess: state.selfTestSuccess,
      uploadSuccess: state.uploadSuccess,
      httpSuccess: state.httpSuccess,
      wsSuccess: state.wsSuccess,
      running: state.running || inProgress !== undefined,
    }),
    report: () => ({ ...state, running: state.running || inProgress !== undefined }),
    run,
    start: () => {
      state = { ...state, running: true };
      schedule(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      // A run in progress notices `stopped` between steps; shutdown waits for it only briefly.
      const brief = new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref());
      await Promise.race([inProgress?.catch(() => undefined), brief]);
    },
  };
}
