import { spawn } from 'node:child_process';
import type { Logger } from '../logger.js';
import { DnsPublishError, type DnsPublisher } from './dns-publisher.js';

export interface ExecHookOptions {
  /** CODIUS_ACME_DNS_HOOK: run as `<program> add|remove <name> <value>`. */
  program: string;
  timeoutMs: number;
  logger: Logger;
  /** The environment codiusd runs with; the hook gets it without codiusd's own (secret-bearing) variables. */
  env: NodeJS.ProcessEnv;
}

/** Output kept for the error message of a failed run. */
const TAIL_CHARS = 2000;

/**
 * CODIUS_ACME_DNS=exec: the operator's program publishes the record, through whatever API their DNS
 * provider has. Each line it writes is logged; it must exit 0 within the timeout.
 */
export function createExecHookPublisher(options: ExecHookOptions): DnsPublisher {
  const { program, timeoutMs, logger } = options;
  const env = Object.fromEntries(Object.entries(options.env).filter(([name]) => !name.startsWith('CODIUS_')));

  function run(action: 'add' | 'remove', name: string, value: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const child = spawn(program, [action, name, value], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let tail = '';
      const onOutput = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
        const text = chunk.toString();
        tail = (tail + text).slice(-TAIL_CHARS);
        for (const line of text.split('\n').filter(Boolean)) logger.info({ hook: program, stream }, line);
      };
      child.stdout.on('data', onOutput('stdout'));
      child.stderr.on('data', onOutput('stderr'));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new DnsPublishError(`CODIUS_ACME_DNS_HOOK ${program} could not run: ${error.message}`));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        const ms = Date.now() - started;
        if (code === 0) {
          logger.info({ hook: program, action, name, ms }, 'DNS hook done');
          resolve();
          return;
        }
        const why =
          signal === 'SIGKILL' ? `did not finish in ${timeoutMs} ms` : `exited with ${code ?? signal}`;
        reject(
          new DnsPublishError(`CODIUS_ACME_DNS_HOOK ${program} ${action} ${name} ${why}: ${tail.trim()}`),
        );
      });
    });
  }

  return {
    description: `the program ${program}`,
    add: (name, value) => run('add', name, value),
    remove: (name, value) => run('remove', name, value),
  };
}
