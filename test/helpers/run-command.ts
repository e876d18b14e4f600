// Runs a program to its end and keeps what it printed: for tests of commands, as an operator runs them.
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  output: string;
}

/** Runs a command, collecting stdout and stderr together. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Like runCommand, but throws with the output when the command fails. */
export async function mustRun(command: string, args: readonly string[], timeoutMs?: number): Promise<string> {
  const result = await runCommand(command, args, timeoutMs === undefined ? {} : { timeoutMs });
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${String(result.code)}:\n${result.output}`);
  return result.output;
}
