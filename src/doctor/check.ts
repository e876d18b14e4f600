import type { Config } from '../config/config.js';
import type { DoctorProbes } from './probes.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  status: CheckStatus;
  /** What was found, in one line. */
  detail: string;
  /** What to do about it, in one line (absent when nothing is to be done). */
  fix?: string;
}

export interface Check {
  id: string;
  title: string;
  /** Run only when asked for (`codiusd doctor --acme`): it changes something outside, if briefly. */
  onDemand?: 'acme';
  run(config: Config, probes: DoctorProbes): Promise<CheckResult>;
}

export const pass = (detail: string): CheckResult => ({ status: 'pass', detail });
export const warn = (detail: string, fix: string): CheckResult => ({ status: 'warn', detail, fix });
export const fail = (detail: string, fix: string): CheckResult => ({ status: 'fail', detail, fix });
export const GIB = 1024 ** 3;

/** Where the public URI is reached: CODIUS_SELF_TEST_ADDRESS, else its own host and port. */
export function connectTarget(config: Config): { host: string; port: number } {
  const url = new URL(config.publicUri);
  return (
    config.selfTest.address ?? {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
    }
  );
}
