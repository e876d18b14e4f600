import { QUESTIONS, type PartialAnswers } from './questions.js';

export const DEFAULT_ENV_FILE = '/etc/codiusd/codiusd.env';

export interface SetupOptions {
  envFile: string;
  /** Ask nothing: defaults for what the flags leave out. */
  yes: boolean;
  /** Replace a configuration that sets something, keeping it as `.old`. */
  force: boolean;
  podman: boolean;
  answers: PartialAnswers;
}

export class SetupUsageError extends Error {}

/** Reads `codiusd setup`'s arguments (those after `setup`). */
export function parseSetupArgs(argv: readonly string[]): SetupOptions {
  const options: SetupOptions = {
    envFile: DEFAULT_ENV_FILE,
    yes: false,
    force: false,
    podman: true,
    answers: {},
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag = '', inline] = (argv[i] ?? '').split(/=(.*)/s, 2);
    const value = (): string => {
      const given = inline ?? argv[++i];
      if (given === undefined) throw new SetupUsageError(`${flag} needs a value`);
      return given;
    };
    if (flag === '--yes' || flag === '-y') options.yes = true;
    else if (flag === '--force') options.force = true;
    else if (flag === '--no-podman') options.podman = false;
    else if (flag === '--no-acme') options.answers.acme = 'no';
    else if (flag === '--env-file') options.envFile = value();
    else {
      const question = QUESTIONS.find((q) => q.flag === flag);
      if (!question) throw new SetupUsageError(`unknown setup argument ${JSON.stringify(argv[i])}`);
      // --acme takes no value: certificates are wanted, --acme-email says for whom.
      options.answers[question.key] = question.key === 'acme' ? 'yes' : value();
    }
  }
  return options;
}
