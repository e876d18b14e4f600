import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import type { Question } from './questions.js';
import type { Terminal } from './setup-command.js';

/**
 * Questions on the process's terminal. A secret's characters are not echoed: the prompt goes to the
 * terminal, then output is muted until the answer is in.
 */
export function processTerminal(): Terminal {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, done): void {
      if (!muted) process.stdout.write(chunk);
      done();
    },
  });
  const line = async (prompt: string, secret: boolean): Promise<string> => {
    const reader = createInterface({ input: process.stdin, output, terminal: true });
    try {
      const answer = reader.question(prompt);
      muted = secret;
      return await answer;
    } finally {
      muted = false;
      if (secret) process.stdout.write('\n');
      reader.close();
    }
  };
  return {
    ask(question: Question, offered: string | undefined): Promise<string> {
      const choices = question.choices ? ` (${question.choices.join('/')})` : '';
      const shown = offered !== undefined && offered !== '' ? ` [${offered}]` : '';
      return line(`${question.prompt}${choices}${shown}: `, question.secret ?? false);
    },
    async confirm(prompt: string): Promise<boolean> {
      return /^y(es)?$/i.test((await line(`${prompt}? [y/N] `, false)).trim());
    },
  };
}
