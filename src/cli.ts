import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { createApp } from './app/app.js';
import { ConfigError, describeVariables, loadConfig } from './config/config.js';
import { devBanner } from './dev-banner.js';
import { createLogger } from './logger.js';
import { SchemaTooNewError } from './store/migrations.js';
import { StoreLockedError } from './store/store.js';
import { SecretFileError } from './secret.js';
import { USAGE } from './usage.js';
import { VERSION } from './version.js';

interface ParsedArgs {
  help: boolean;
  version: boolean;
  doctor: boolean;
  json: boolean;
  acme: boolean;
  envFile?: string;
  /** `keygen FILE`: where to write the key. */
  keygen?: string;
}

class UsageError extends Error {}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const args: ParsedArgs = { help: false, version: false, doctor: false, json: false, acme: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--' && i === 0) continue; // bin/codiusd puts our arguments behind `--`
    if (arg === 'doctor' && !args.doctor && i <= 1) args.doctor = true;
    else if (arg === 'keygen' && args.keygen === undefined && i <= 1) {
      const file = argv[++i];
      if (!file) throw new UsageError('keygen needs the file to write the private key to');
      args.keygen = file;
    } else if (arg === '--json' && args.doctor) args.json = true;
    else if (arg === '--acme' && args.doctor) args.acme = true;
    else if (arg === '--help' || arg === '-h') args.help = true;
    else if (arg === '--version' || arg === '-v') args.version = true;
    else if (arg === '--env-file') {
      const file = argv[++i];
      if (!file) throw new UsageError('--env-file needs a file name');
      args.envFile = file;
    } else if (arg.startsWith('--env-file=')) args.envFile = arg.slice('--env-file='.length);
    else throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
  }
  return args;
}

/** Variables from the file fill in what the environment does not already set. */
export function mergeEnvFile(env: NodeJS.ProcessEnv, fileText: string): NodeJS.ProcessEnv {
  return { ...parseEnv(fileText), ...env };
}

/** Exit codes: systemd's RestartPreventExitStatus lists the ones a restart cannot fix. */
export const EXIT_USAGE = 2;
/** sysexits.h EX_CONFIG: a bad configuration. */
export const EXIT_CONFIG = 78;
/** sysexits.h EX_DATAERR: the store was written by a newer codiusd (a downgrade); restarting cannot help. */
export const EXIT_STORE_TOO_NEW = 65;

function fail(message: string, code = 1): never {
  process.stderr.write(`codiusd: ${message}\n`);
  process.exit(code);
}

/** Failures at start-up that deserve one plain line rather than a stack trace. */
function isOperatorError(error: unknown): error is Error {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return (
    error instanceof StoreLockedError ||
    error instanceof SecretFileError ||
    code === 'EADDRINUSE' ||
    code === 'EADDRNOTAVAIL' ||
    code === 'EACCES'
  );
}

export async function main(argv: readonly string[]): Promise<void> {
  const words = argv[0] === '--' ? argv.slice(1) : argv;
  if (words[0] === 'setup') {
    // Setup has options of its own and runs once on a new host: loaded only then.
    const { setupCommand } = await import('./setup/setup-cli.js');
    process.exitCode = await setupCommand(words.slice(1));
    return;
  }
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE.split('\n')[0] ?? ''}`, EXIT_USAGE);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}${describeVariables()}\n`);
    return;
  }
  if (args.version) {
    // The runtime too: the Debian package brings its own Node.js, which an operator may need to name.
    process.stdout.write(`${VERSION} (Node.js ${process.versions.node})\n`);
    return;
  }

  if (args.keygen !== undefined) {
    const { writeOpenPaymentsKey } = await import('./payments/open-payments/keygen.js');
    try {
      const { keyId, jwk } = await writeOpenPaymentsKey(args.keygen);
      process.stdout.write(
        `Wrote ${args.keygen} (mode 600). Register this public key with your wallet's provider:\n\n` +
          `${JSON.stringify(jwk, null, 2)}\n\nThen set (with the key id the provider shows, if it assigns its own):\n` +
          `CODIUS_OPEN_PAYMENTS_KEY_ID=${keyId}\nCODIUS_OPEN_PAYMENTS_PRIVATE_KEY=${args.keygen}\n`,
      );
    } catch (error) {
      fail(`cannot write ${args.keygen}: ${(error as Error).message}`);
    }
    return;
  }

  let env = process.env;
  if (args.envFile !== undefined) {
    try {
      env = mergeEnvFile(env, readFileSync(args.envFile, 'utf8'));
    } catch (error) {
      fail(`cannot read --env-file ${args.envFile}: ${(error as Error).message}`, EXIT_CONFIG);
    }
  }

  if (args.doctor) {
    // The doctor's checks are loaded only for the doctor: a running daemon never needs them.
    const { formatDoctorReport, runDoctor } = await import('./doctor/doctor.js');
    const report = await runDoctor(env, undefined, { acme: args.acme });
    process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
    process.exitCode = report.ok ? 0 : 1;
    return;
  }

  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) fail(`invalid configuration: ${error.message}`, EXIT_CONFIG);
    throw error;
  }

  const logger = createLogger(config.logLevel);
  const app = createApp({ config, logger });

  let stopping = false;
  /** Read through a function: a signal sets `stopping` while the start is awaited. */
  const isStopping = (): boolean => stopping;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, `received ${signal}; stopping`);
    // Backstop in case a component hangs while stopping.
    setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000).unref();
    app.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    await app.start();
  } catch (error) {
    // A signal during start-up: the stop under way ends the process once everything started is stopped.
    if (isStopping()) return;
    if (error instanceof SchemaTooNewError) fail(error.message, EXIT_STORE_TOO_NEW);
    if (isOperatorError(error)) fail(error.message);
    logger.fatal({ err: error }, 'could not start');
    process.exit(1);
  }
  if (config.dev) {
    const { publicUri, root } = config;
    process.stderr.write(devBanner({ version: VERSION, listeningUrl: app.listeningUrl(), publicUri, root }));
  }
}
