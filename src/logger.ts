import { pino, type Logger } from 'pino';

export type { Logger };

const CENSOR = '[redacted]';
/** Keys whose values never reach a log line, at the top of a line's object or one level down. */
const SECRET_KEYS = new Set(['secret', 'hostSecret', 'privateVars', 'private', 'credentials']);
/** Request headers that carry credentials, wherever a `headers` object is logged (same two levels). */
const SECRET_HEADERS = ['authorization', 'pay-token'];

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/** `object` with its secrets censored (a copy, only when there is something to censor). */
function scrub(object: Record<string, unknown>, depth: number): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key in object) {
    const value = object[key];
    let replacement = value;
    if (SECRET_KEYS.has(key)) replacement = CENSOR;
    else if (key === 'headers' && isPlainObject(value)) {
      const secret = SECRET_HEADERS.filter((name) => name in value);
      if (secret.length > 0)
        replacement = { ...value, ...Object.fromEntries(secret.map((n) => [n, CENSOR])) };
    } else if (depth === 0 && isPlainObject(value)) replacement = scrub(value, 1);
    if (replacement !== value) (copy ??= { ...object })[key] = replacement;
  }
  return copy ?? object;
}

/**
 * The last line of defence against secrets in logs (code should not log them in the first place): the
 * keys above are censored in every line. A plain key check rather than pino's path redaction, which cost
 * about 9 µs per line, most of what a request log line cost.
 */
export function censorSecrets(object: Record<string, unknown>): Record<string, unknown> {
  return scrub(object, 0);
}

let stdoutBuffer: pino.DestinationStream | undefined;

/** Lines are written out once this much is buffered, or after this long, whichever comes first. */
const STDOUT_BUFFER_BYTES = 4096;
const STDOUT_FLUSH_INTERVAL_MS = 250;

/**
 * stdout through a buffer: one write per 4 KiB of lines (or per 250 ms) instead of one system call per
 * line, which halved the throughput of a busy host logging every request. The buffer is written out
 * synchronously when the process exits, however it exits short of SIGKILL.
 */
function bufferedStdout(): pino.DestinationStream {
  // stdout is one per process, and so is its buffer: every logger writing there shares it.
  if (stdoutBuffer) return stdoutBuffer;
  const stream = pino.destination({ dest: 1, sync: false, minLength: STDOUT_BUFFER_BYTES });
  stdoutBuffer = stream;
  setInterval(() => {
    try {
      stream.flush();
    } catch {
      // Closed already (the process is ending).
    }
  }, STDOUT_FLUSH_INTERVAL_MS).unref();
  process.once('exit', () => {
    try {
      stream.flushSync();
    } catch {
      // stdout is gone (a closed pipe): nothing left to write to.
    }
  });
  return stream;
}

/** JSON lines on stdout (or the given stream), which systemd's journal collects. */
/** How much codiusd logs (CODIUS_LOG_LEVEL). */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: 'codiusd' },
    formatters: { log: censorSecrets },
    // Child loggers' bindings do not pass the log formatter; per-key serializers cover them.
    serializers: Object.fromEntries([...SECRET_KEYS].map((key) => [key, () => CENSOR])),
  };
  return pino(options, destination ?? bufferedStdout());
}
