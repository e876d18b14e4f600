import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

export const BIN = fileURLToPath(new URL('../../../bin/codiusd', import.meta.url));

/** A port nothing listens on right now (the kernel picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

export interface DaemonProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once stdout has a line matching `pattern`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** How a daemon ends when its file's fixtures go away. */
type StopSignal = 'SIGKILL' | 'SIGTERM';

/** Daemons of this file still running, each with how it is stopped. */
const running = new Map<ChildProcess, StopSignal>();

/**
 * Stops every daemon of this file that still runs (a hung SIGTERM is followed by SIGKILL after 15 s).
 * Fixtures call it before they take away what daemons use: a daemon outliving its Podman network or
 * service would make them again.
 */
export async function stopRunningDaemons(): Promise<void> {
  await Promise.all(
    [...running].map(async ([child, signal]) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      const hung = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(hung);
    }),
  );
}

/** Runs bin/codiusd (or `options.bin`) as a real process with exactly the given environment (plus PATH). */
export function runDaemon(
  env: Record<string, string>,
  args: string[] = [],
  options: {
    ownProcessGroup?: boolean;
    /**
     * Who stops the process: by default it is killed when the test (or file) that started it ends;
     * 'caller' leaves that to the caller, for a daemon that outlives the test that restarted it.
     */
    stoppedBy?: 'test' | 'caller';
    /** How the fixtures stop it at the end of the file: SIGKILL, or SIGTERM to let it drain and exit. */
    stopSignal?: StopSignal;
    /** Another codiusd executable, such as the Debian package's /usr/bin/codiusd. */
    bin?: string;
  } = {},
): DaemonProcess {
  const child = spawn(options.bin ?? BIN, args, {
    // The built-in engine unless a test chooses: the default would be HAProxy on this machine.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CODIUS_PROXY_ENGINE: 'builtin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // As the foreground job of a terminal: signal the group with process.kill(-pid, …), as Ctrl-C does.
    detached: options.ownProcessGroup === true,
  });
  let text = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    for (const check of waiters) check();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  running.set(child, options.stopSignal ?? 'SIGKILL');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      for (const check of waiters) check();
      resolve({ code, signal });
    });
  });
  if (options.stoppedBy !== 'caller') {
    after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
  }

  return {
    child,
    output: () => text,
    exited,
    waitForOutput(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(text);
          if (match) {
            finish();
            resolve(match[0]);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            finish();
            reject(new Error(`codiusd exited before printing ${String(pattern)}:\n${text}`));
          }
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`timed out waiting for ${String(pattern)}:\n${text}`));
        }, timeoutMs);
        const finish = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Starts a daemon and waits until it listens; returns its base URL. */
export async function startDaemon(
  env: Record<string, string>,
  args: string[] = [],
  options: Parameters<typeof runDaemon>[2] = {},
): Promise<DaemonProcess & { url: string }> {
  const daemon = runDaemon(env, args, options);
  await daemon.waitForOutput(/codiusd listening on/);
  const match = /"listening":"([^"]+)"/.exec(daemon.output());
  if (!match?.[1]) throw new Error(`no listening address in output:\n${daemon.output()}`);
  return { ...daemon, url: match[1] };
}
