import { spawn, type ChildProcess } from 'node:child_process';
import { after } from 'node:test';

export interface ServerProcess {
  child: ChildProcess;
  /** Everything it wrote so far (stdout and stderr). */
  output(): string;
  /** Throws with its output if it has exited (for readiness loops). */
  assertRunning(): void;
}

/** A server the test runs in the foreground, its output kept, stopped with SIGTERM when the file ends. */
export function startServerProcess(command: string, args: string[], env?: NodeJS.ProcessEnv): ServerProcess {
  let output = '';
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });
  return {
    child,
    output: () => output,
    assertRunning() {
      if (child.exitCode !== null) throw new Error(`${command} exited:\n${output}`);
    },
  };
}
