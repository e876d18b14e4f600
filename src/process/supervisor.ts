import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../logger.js';
import { DEFAULT_RETRY_SCHEDULE_MS, scheduledDelay } from '../util/backoff.js';

const DEFAULT_STOP_TIMEOUT_MS = 5_000;

export interface SupervisedProcessOptions {
  /** What the process is, for logs ("podman API service"). */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** Resolves once the process serves; rejecting fails that launch. */
  waitReady(child: ChildProcess): Promise<void>;
  /** Runs before every launch, e.g. to remove a stale socket. */
  beforeLaunch?(): Promise<void>;
  /** Runs after every successful launch, e.g. to record the pid. */
  afterReady?(child: ChildProcess): Promise<void>;
  /** Turns a spawn error (ENOENT…) into one a person can act on. */
  explainSpawnError?(error: NodeJS.ErrnoException): Error;
  /** Delays between restarts after unexpected exits; the last one repeats. */
  restartDelaysMs?: readonly number[];
  /** The signal that asks the process to stop (SIGTERM by default), and how long it has before SIGKILL. */
  stopSignal?: NodeJS.Signals;
  stopTimeoutMs?: number;
  /** The level each line of its output is logged at (debug by default). */
  outputLevel?: (line: string) => 'debug' | 'warn' | 'error';
}

export interface SupervisedProcess {
  pid(): number | undefined;
  /** Stops the process (its stop signal, then SIGKILL after the stop timeout) and any pending restart. */
  stop(): Promise<void>;
}

/** True while the child has neither exited nor been killed by a signal. */
export function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Resolves when the child exits; rejects with a clear error if it exits first. */
export function exitAsError(child: ChildProcess, name: string, lastOutput?: () => string[]): Promise<never> {
  return new Promise((_resolve, reject) => {
    child.once('exit', (code, signal) => {
      const said = lastOutput?.() ?? [];
      const detail = said.length > 0 ? `: ${said.join(' | ')}` : '';
      reject(new Error(`${name} exited during start-up (${String(code ?? signal)})${detail}`));
    });
  });
}

/** How many of a child's last output lines a start-up failure quotes. */
const QUOTED_LINES = 5;

/**
 * Starts a helper process and keeps it running: after an unexpected exit it is started again with
 * backoff. The first launch must succeed (its error is thrown to the caller); later failures are logged
 * and retried, so a flapping helper never takes the daemon down.
 */
export async function startSupervised(options: SupervisedProcessOptions): Promise<SupervisedProcess> {
  const { logger, name } = options;
  const delays = options.restartDelaysMs ?? DEFAULT_RETRY_SCHEDULE_MS;
  let child: ChildProcess | undefined;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let failures = 0;

  const recentOutput: string[] = [];

  function forwardOutput(stream: NodeJS.ReadableStream | null): void {
    if (!stream) return;
    stream.setEncoding('utf8');
    let partial = '';
    stream.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        logger[options.outputLevel?.(line) ?? 'debug']({ output: line.trim() }, name);
        recentOutput.push(line.trim());
        if (recentOutput.length > QUOTED_LINES) recentOutput.shift();
      }
    });
  }

  function scheduleRestart(exit?: { code: number | null; signal: NodeJS.Signals | null }): void {
    const delay = scheduledDelay(delays, failures);
    failures += 1;
    restartTimer = setTimeout(() => {
      launch().then(
        () => {
          failures = 0;
        },
        (error: unknown) => {
          if (stopping) return;
          logger.error({ err: error }, `${name} did not come back; retrying`);
          scheduleRestart();
        },
      );
    }, delay);
    if (exit) logger.error({ ...exit, restartInMs: delay }, `${name} exited; restarting it`);
  }

  async function launch(): Promise<void> {
    await options.beforeLaunch?.();
    const spawned = spawn(options.command, options.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      // A process group of its own: Ctrl-C in codiusd's terminal signals the whole foreground group, and
      // the child would die (and be "restarted") while codiusd is still draining. codiusd stops it itself.
      detached: true,
    });
    child = spawned;
    let ready = false;
    const spawnError = new Promise<never>((_resolve, reject) => {
      spawned.on('error', (error: NodeJS.ErrnoException) => {
        reject(options.explainSpawnError?.(error) ?? error);
        if (ready) logger.warn({ err: error }, `${name} reported an error`);
      });
    });
    // Either settles the start-up race below; once started, later rejections are expected and ignored.
    recentOutput.length = 0;
    const failed = Promise.race([spawnError, exitAsError(spawned, name, () => recentOutput)]);
    failed.catch(() => undefined);
    forwardOutput(spawned.stdout);
    forwardOutput(spawned.stderr);
    spawned.once('exit', (code, signal) => {
      if (stopping || child !== spawned || !ready) return;
      scheduleRestart({ code, signal });
    });
    try {
      await Promise.race([options.waitReady(spawned), failed]);
    } catch (error) {
      if (isAlive(spawned)) spawned.kill('SIGKILL');
      throw error;
    }
    ready = true;
    await options.afterReady?.(spawned);
    logger.info({ pid: spawned.pid }, `started ${name}`);
  }

  try {
    await launch();
  } catch (error) {
    stopping = true;
    throw error;
  }

  return {
    pid: () => child?.pid,
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      const running = child;
      if (!running || !isAlive(running)) return;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill(options.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(
        () => running.kill('SIGKILL'),
        options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS,
      );
      await exited;
      clearTimeout(timer);
    },
  };
}
