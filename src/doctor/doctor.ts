import { ConfigError, loadConfig } from '../config/config.js';
import { CHECKS, type CheckResult, type CheckStatus } from './checks.js';
import { realProbes, type DoctorProbes } from './probes.js';

export interface DoctorLine extends CheckResult {
  id: string;
  title: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorLine[];
}

/**
 * Reads the configuration codiusd would read and runs every check in turn. A configuration that does not
 * load fails the first check and skips the rest (they would only repeat it). `ok` is false when any
 * check failed; warnings leave it true.
 */
export async function runDoctor(
  env: Readonly<Record<string, string | undefined>>,
  probes: DoctorProbes = realProbes,
  options: { acme?: boolean } = {},
): Promise<DoctorReport> {
  let config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const rest = CHECKS.filter((check) => check.onDemand === undefined).map((check) => ({
      id: check.id,
      title: check.title,
      status: 'skip' as const,
      detail: 'configuration invalid',
    }));
    return {
      ok: false,
      checks: [
        {
          id: 'configuration',
          title: 'Configuration',
          status: 'fail',
          detail: error.message,
          fix: `set ${error.variable} as --help describes`,
        },
        ...rest,
      ],
    };
  }
  const mode = config.dev ? 'dev mode' : 'production';
  const checks: DoctorLine[] = [
    {
      id: 'configuration',
      title: 'Configuration',
      status: 'pass',
      detail: `${mode}, public URI ${config.publicUri}`,
    },
  ];
  for (const check of CHECKS) {
    let result: CheckResult;
    if (check.onDemand === 'acme' && options.acme !== true) continue;
    try {
      result = await check.run(config, probes);
    } catch (error) {
      result = {
        status: 'fail',
        detail: `the check itself failed: ${(error as Error).message}`,
        fix: 'report this with the output of codiusd doctor --json',
      };
    }
    checks.push({ id: check.id, title: check.title, ...result });
  }
  return { ok: checks.every((line) => line.status !== 'fail'), checks };
}

const MARKS: Record<CheckStatus, string> = { pass: '✓', warn: '!', fail: '✗', skip: '-' };

/** One line per check, a fix under each that needs one, and a verdict. */
export function formatDoctorReport(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((line) => line.title.length));
  const lines = report.checks.flatMap((line) => [
    `${MARKS[line.status]} ${line.title.padEnd(width)}  ${line.detail}`,
    ...(line.fix ? [`  ${' '.repeat(width)}  → ${line.fix}`] : []),
  ]);
  const failed = report.checks.filter((line) => line.status === 'fail').length;
  const warned = report.checks.filter((line) => line.status === 'warn').length;
  const verdict =
    failed > 0
      ? `${failed} check(s) failed, ${warned} warning(s)`
      : `all checks passed, ${warned} warning(s)`;
  return `${lines.join('\n')}\n\n${verdict}\n`;
}
