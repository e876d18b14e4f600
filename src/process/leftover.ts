import { readFile } from 'node:fs/promises';
import { sleep } from '../util/sleep.js';
import type { Logger } from '../logger.js';

/**
 * A helper left behind by a codiusd that was killed (SIGKILL, crash) would keep its socket or port: stop
 * it. The pid in `pidFile` is only trusted while that process's command line still is ours (`isOurs`),
 * so a recycled pid is never signalled.
 */
export async function stopLeftover(
  pidFile: string,
  isOurs: (commandLine: string) => boolean,
  what: string,
  logger: Logger,
): Promise<void> {
  let pid: number;
  try {
    pid = Number((await readFile(pidFile, 'utf8')).trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  let commandLine: string;
  try {
    commandLine = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
  } catch {
    return;
  }
  if (!isOurs(commandLine)) return;
  logger.warn({ pid }, `stopping ${what} left by an earlier codiusd`);
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50; i += 1) {
    await sleep(100);
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
  process.kill(pid, 'SIGKILL');
}
