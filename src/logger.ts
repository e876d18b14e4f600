import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/config.js';

export type { Logger };

/**
 * Paths pino replaces with "[redacted]" wherever they appear in a log object, as a last line of defence:
 * code should not log these in the first place.
 */
export const REDACTED_PATHS = [
  'secret',
  '*.secret',
  'hostSecret',
  'privateVars',
  '*.privateVars',
  'private',
  '*.private',
  'credentials',
  '*.credentials',
  'headers.authorization',
  'headers["pay-token"]',
  '*.headers.authorization',
  '*.headers["pay-token"]',
];

/** JSON lines on stdout (or the given stream), which systemd's journal collects. */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'codiusd' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
