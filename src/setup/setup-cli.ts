import { spawn } from 'node:child_process';
import { access, mkdir } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeOpenPaymentsKey } from '../payments/open-payments/keygen.js';
import { parseSetupArgs, SetupUsageError } from './setup-args.js';
import { runSetup, SetupRefusedError, type SetupDeps } from './setup-command.js';
import { processTerminal } from './terminal.js';

/** The Podman setup the quick start runs, shipped beside the daemon (dist/src/setup → scripts). */
const PODMAN_SETUP = fileURLToPath(new URL('../../../scripts/setup-podman.sh', import.meta.url));

function runPodmanSetup(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [PODMAN_SETUP], { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${PODMAN_SETUP} exited with ${String(code)}`)),
    );
  });
}

/** The doctor sees what the service will: the new file, not this shell's CODIUS_* or ILP_* variables. */
async function runDoctorOn(fileEnv: Record<string, string>): Promise<{ ok: boolean; text: string }> {
  const { formatDoctorReport, runDoctor } = await import('../doctor/doctor.js');
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('CODIUS_') && !name.startsWith('ILP_')),
  );
  const report = await runDoctor({ ...inherited, ...fileEnv });
  return { ok: report.ok, text: formatDoctorReport(report) };
}

const realDeps = (): SetupDeps => ({
  terminal: process.stdin.isTTY && process.stdout.isTTY ? processTerminal() : undefined,
  out: (text) => void process.stdout.write(text),
  now: () => new Date(),
  fileExists: (path) =>
    access(path).then(
      () => true,
      () => false,
    ),
  makeKey: async (path) => {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    return writeOpenPaymentsKey(path);
  },
  runPodmanSetup,
  runDoctor: runDoctorOn,
  interfaceAddresses: () =>
    Object.values(networkInterfaces())
      .flat()
      .flatMap((entry) => (entry ? [entry.address] : [])),
});

/**
 * `codiusd setup …`: the exit code: 0 when the configuration is written (what the doctor still finds is
 * listed as what is left to do: on a new host DNS records usually are), 1 when an existing configuration
 * was not replaced, 2 for bad arguments or answers.
 */
export async function setupCommand(argv: readonly string[], deps: SetupDeps = realDeps()): Promise<number> {
  try {
    await runSetup(parseSetupArgs(argv), deps);
    return 0;
  } catch (error) {
    if (error instanceof SetupUsageError) {
      process.stderr.write(`codiusd setup: ${error.message}\n`);
      return 2;
    }
    if (error instanceof SetupRefusedError) {
      process.stderr.write(`codiusd setup: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
