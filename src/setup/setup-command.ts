import { parseEnv } from 'node:util';
import { ConfigError, loadConfig } from '../config/config.js';
import { readIfExists, renderEnvFile, sameSettings, setsSomething, writeEnvFile } from './env-file.js';
import { nextSteps, publicAddressesOf } from './next-steps.js';
import {
  answerProblem,
  applies,
  QUESTIONS,
  type Answers,
  type PartialAnswers,
  type Question,
} from './questions.js';
import { SetupUsageError, type SetupOptions } from './setup-args.js';

/** A terminal to ask on; setup without one takes its answers from flags only. */
export interface Terminal {
  ask(question: Question, offered: string | undefined): Promise<string>;
  confirm(prompt: string): Promise<boolean>;
}

/** What setup does to the machine, passed in so that each step can be tested on its own. */
export interface SetupDeps {
  terminal: Terminal | undefined;
  out: (text: string) => void;
  now: () => Date;
  fileExists: (path: string) => Promise<boolean>;
  /** Makes a new Ed25519 key at `path` (mode 600): its id and public key. */
  makeKey: (path: string) => Promise<{ keyId: string; jwk: object }>;
  runPodmanSetup: () => Promise<void>;
  runDoctor: (env: Record<string, string>) => Promise<{ ok: boolean; text: string }>;
  interfaceAddresses: () => string[];
}

/** The configuration exists, sets something, and setup was not allowed to replace it. */
export class SetupRefusedError extends Error {}

/** The answers to every question that applies: flags first, then the terminal, then --yes's defaults. */
export async function collectAnswers(
  options: SetupOptions,
  terminal: Terminal | undefined,
): Promise<Answers> {
  const answers: PartialAnswers = { ...options.answers };
  const missing: string[] = [];
  for (const question of QUESTIONS) {
    if (!applies(question, answers)) continue;
    const given = answers[question.key];
    if (given !== undefined) {
      const problem = answerProblem(question, given);
      if (problem) throw new SetupUsageError(problem);
      continue;
    }
    const offered = question.defaultOf?.(answers);
    if (terminal && !options.yes) answers[question.key] = await askUntilValid(terminal, question, offered);
    else if (offered !== undefined) answers[question.key] = offered;
    else missing.push(question.flag);
  }
  if (missing.length > 0) {
    throw new SetupUsageError(
      `setup needs ${missing.join(', ')} (no terminal to ask on${options.yes ? ', and --yes asks nothing' : ''})`,
    );
  }
  return answers as Answers;
}

async function askUntilValid(
  terminal: Terminal,
  question: Question,
  offered: string | undefined,
): Promise<string> {
  for (;;) {
    const typed = (await terminal.ask(question, offered)).trim();
    const answer = typed === '' && offered !== undefined ? offered : typed;
    if (answer === '') continue;
    const problem = answerProblem(question, answer);
    if (!problem) return answer;
    await terminal.confirm(`${problem}. Try again`);
  }
}

/** Checks the whole configuration as the daemon will read it, so a mistake shows now, not at start. */
function checkConfiguration(text: string): void {
  try {
    loadConfig(parseEnv(text), { executableExists: () => true });
  } catch (error) {
    if (error instanceof ConfigError)
      throw new SetupUsageError(`the answers make an invalid configuration: ${error.message}`);
    throw error;
  }
}

/** Whether the file may be written: it is new or sets nothing, or the operator agrees; not when it already sets the same. */
async function mayWrite(options: SetupOptions, deps: SetupDeps, text: string): Promise<boolean> {
  const existing = await readIfExists(options.envFile);
  if (existing === undefined || !setsSomething(existing) || options.force) return true;
  if (sameSettings(existing, text)) return false;
  if (deps.terminal && !options.yes) {
    deps.out(`${options.envFile} already sets variables; the new one is:\n\n${redact(text)}\n`);
    if (
      await deps.terminal.confirm(
        `Replace ${options.envFile} (the current one is kept as ${options.envFile}.old)`,
      )
    ) {
      return true;
    }
  }
  throw new SetupRefusedError(
    `${options.envFile} already sets variables; not replaced. Run again with --force (it keeps the current file as ` +
      `${options.envFile}.old), or --env-file another file`,
  );
}

/** The text with the values of secret variables hidden, for showing. */
function redact(text: string): string {
  return text.replace(/^(CODIUS_ACME_RFC2136_TSIG_SECRET)=.*$/m, '$1=(hidden)');
}

/**
 * `codiusd setup`: asks, writes the configuration (mode 600), makes the Open Payments key if it does not
 * exist, prepares Podman, runs the doctor on the new configuration and prints what is left to do.
 */
export async function runSetup(options: SetupOptions, deps: SetupDeps): Promise<{ doctorOk: boolean }> {
  const answers = await collectAnswers(options, deps.terminal);
  const makeNewKey = answers.payment === 'open-payments' && !(await deps.fileExists(answers.privateKey));
  if (answers.payment === 'open-payments' && !makeNewKey && answers.keyId === '') {
    throw new SetupUsageError(
      `--key-id is needed: ${answers.privateKey} exists, and only its provider knows its id`,
    );
  }
  // Checked with a stand-in key id before anything is written; the real one may come from the new key.
  const draft = { ...answers, keyId: answers.keyId === '' ? 'new-key' : answers.keyId };
  checkConfiguration(renderEnvFile(draft, deps.now()));
  const write = await mayWrite(options, deps, renderEnvFile(answers, deps.now()));

  let newPublicKey: object | undefined;
  if (makeNewKey) {
    const made = await deps.makeKey(answers.privateKey);
    newPublicKey = made.jwk;
    if (answers.keyId === '') answers.keyId = made.keyId;
    deps.out(`Made the Open Payments key ${answers.privateKey} (mode 600).\n`);
  }
  const text = renderEnvFile(answers, deps.now());
  if (write) {
    await writeEnvFile(options.envFile, text, options.force);
    deps.out(`Wrote ${options.envFile} (mode 600).\n`);
  } else {
    deps.out(`${options.envFile} already holds this configuration.\n`);
  }

  if (options.podman) await deps.runPodmanSetup();
  const doctor = await deps.runDoctor(parseEnv(text) as Record<string, string>);
  deps.out(`\n${doctor.text}\n`);
  const steps = nextSteps({
    answers,
    publicAddresses: publicAddressesOf(deps.interfaceAddresses()),
    ...(newPublicKey ? { newPublicKey } : {}),
    doctorOk: doctor.ok,
    envFile: options.envFile,
  });
  deps.out(`What is left to do:\n${steps.join('\n')}\n`);
  return { doctorOk: doctor.ok };
}
