import { connect } from 'node:net';

/** A command the runtime API refused, with HAProxy's own words. */
export class HaproxyCommandError extends Error {
  constructor(command: string, answer: string) {
    super(`HAProxy refused "${command.split(' ').slice(0, 2).join(' ')}": ${answer.trim() || 'no answer'}`);
    this.name = 'HaproxyCommandError';
  }
}

export interface HaproxyRuntimeApi {
  /** Sends one command and resolves with HAProxy's answer (the socket closes after it). */
  send(command: string): Promise<string>;
}

/** Answers of map commands that mean failure; successful ones are empty or say what was done. */
const REFUSALS =
  /^(unknown|missing|not found|entry not found|this command|permission denied|no such|can't|cannot)/im;

/**
 * The HAProxy runtime API on its Unix socket, one connection per command (the non-interactive mode, in
 * which HAProxy answers and closes). Map changes through it take effect at once, without a reload.
 */
export function createHaproxyRuntimeApi(socketPath: string, timeoutMs = 5_000): HaproxyRuntimeApi {
  return {
    send(command) {
      return new Promise((resolve, reject) => {
        const socket = connect(socketPath);
        let answer = '';
        socket.setEncoding('utf8');
        socket.setTimeout(timeoutMs, () =>
          socket.destroy(new Error(`HAProxy did not answer in ${timeoutMs} ms`)),
        );
        socket.on('data', (text: string) => (answer += text));
        socket.on('error', reject);
        socket.on('close', () => {
          if (REFUSALS.test(answer)) reject(new HaproxyCommandError(command, answer));
          else resolve(answer);
        });
        socket.end(`${command}\n`);
      });
    },
  };
}
