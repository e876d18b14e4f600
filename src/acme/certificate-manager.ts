import type { Logger } from '../logger.js';
import type { AcmeIssuer, ChallengeType } from './acme-issuer.js';
import type { CertificateFiles, StoredCertificate } from './certificate-files.js';

/** A certificate codiusd keeps current. */
export interface CertificateSpec {
  /** The file's name, and the name it is known by (the first DNS name). */
  name: string;
  names: readonly string[];
  challenge: ChallengeType;
  /** Asked before each renewal: a certificate nobody needs any more is dropped instead. */
  stillWanted?: () => Promise<boolean>;
}

export interface CertificateStatus {
  name: string;
  names: string[];
  notAfter: string;
  renewAt: string;
  failures: number;
  lastError: string | null;
}

export type InstallListener = (name: string, certificate: StoredCertificate) => Promise<void> | void;

export interface CertificateManager {
  /** Loads the certificate, or obtains it when there is none usable; keeps it renewed from then on. */
  manage(spec: CertificateSpec): Promise<StoredCertificate>;
  current(name: string): StoredCertificate | undefined;
  /** Stops renewing it and deletes it. */
  release(name: string): Promise<void>;
  /** Renews now, whatever its age (operators, and tests of the swap). */
  renewNow(name: string): Promise<StoredCertificate>;
  /** Called with each certificate obtained after `manage` returned it: put it into service. */
  onRenewed(listener: InstallListener): void;
  status(): CertificateStatus[];
  stop(): void;
}

export interface CertificateManagerOptions {
  issuer: AcmeIssuer;
  files: CertificateFiles;
  logger: Logger;
  /** First pause after a failed renewal, doubled after each further failure up to `retryMaxMs`. */
  retryMinMs: number;
  retryMaxMs: number;
  now?: () => number;
}

/** Renewal at two thirds of the lifetime leaves a third of it to retry failures in. */
const RENEW_AT = 2 / 3;
/** Longest timer armed at once (setTimeout's limit is ~24.8 days). */
const MAX_TIMER_MS = 86_400_000;

interface Entry {
  spec: CertificateSpec;
  certificate: StoredCertificate;
  failures: number;
  lastError: string | null;
  timer: NodeJS.Timeout | null;
  renewing: Promise<StoredCertificate> | null;
}

function renewTime(certificate: StoredCertificate): number {
  const issued = certificate.notBefore.getTime();
  return issued + (certificate.notAfter.getTime() - issued) * RENEW_AT;
}

/** Orders a certificate and keeps it; the first order of one also minds earlier failed first orders. */
function createOrders(
  options: Pick<CertificateManagerOptions, 'issuer' | 'files'>,
  now: () => number,
  pauseAfter: (failures: number) => number,
): {
  obtain: (spec: CertificateSpec) => Promise<StoredCertificate>;
  obtainFirst: (spec: CertificateSpec) => Promise<StoredCertificate>;
} {
  const { issuer, files } = options;
  async function obtain(spec: CertificateSpec): Promise<StoredCertificate> {
    const issued = await issuer.issue(spec.names, spec.challenge);
    return files.save(spec.name, issued);
  }

  /**
   * The first order of a certificate codiusd has none of. Failures in a row are kept on disk: while the
   * pause after them lasts, no order is sent and the start fails at once saying until when, so a service
   * manager restarting codiusd does not make it order again at every restart (CAs limit failed orders).
   */
  async function obtainFirst(spec: CertificateSpec): Promise<StoredCertificate> {
    const failed = await files.failures(spec.name);
    if (failed) {
      const next = failed.at + pauseAfter(failed.count);
      if (next > now()) {
        throw new Error(
          `the last ${failed.count} orders for ${spec.name} failed (see the log before); the next is not sent before ${new Date(next).toISOString()}`,
        );
      }
    }
    try {
      const certificate = await obtain(spec);
      if (failed) await files.recordFailure(spec.name, null);
      return certificate;
    } catch (error) {
      await files.recordFailure(spec.name, { count: (failed?.count ?? 0) + 1, at: now() });
      throw error;
    }
  }
  return { obtain, obtainFirst };
}

/**
 * Keeps ACME certificates current: each is renewed at two thirds of its lifetime, retried with growing
 * pauses while the CA or DNS fails, and the certificate in service stays in service until a new one is
 * obtained.
 */
export function createCertificateManager(options: CertificateManagerOptions): CertificateManager {
  const { files, logger } = options;
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  const listeners: InstallListener[] = [];
  let stopped = false;

  function arm(entry: Entry, at: number): void {
    if (entry.timer) clearTimeout(entry.timer);
    if (stopped) return;
    const delay = Math.max(0, Math.min(at - now(), MAX_TIMER_MS));
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (now() < at) arm(entry, at);
      else void renew(entry).catch(() => undefined);
    }, delay);
    entry.timer.unref();
  }

  const pauseAfter = (failures: number): number =>
    Math.min(options.retryMaxMs, options.retryMinMs * 2 ** (failures - 1));
  const { obtain, obtainFirst } = createOrders(options, now, pauseAfter);

  async function renewOnce(entry: Entry): Promise<StoredCertificate> {
    const { spec } = entry;
    if (spec.stillWanted && !(await spec.stillWanted())) {
      logger.info({ certificate: spec.name }, 'certificate no longer needed: not renewed');
      await release(spec.name);
      return entry.certificate;
    }
    try {
      const certificate = await obtain(spec);
      entry.certificate = certificate;
      entry.failures = 0;
      entry.lastError = null;
      for (const listener of listeners) {
        await Promise.resolve(listener(spec.name, certificate)).catch((error: unknown) => {
          logger.error(
            { err: error, certificate: spec.name },
            'could not put the renewed certificate into service',
          );
        });
      }
      arm(entry, renewTime(certificate));
      return certificate;
    } catch (error) {
      entry.failures += 1;
      entry.lastError = error instanceof Error ? error.message : String(error);
      const pause = pauseAfter(entry.failures);
      logger.error(
        {
          err: error,
          certificate: spec.name,
          failures: entry.failures,
          retryInMs: pause,
          notAfter: entry.certificate.notAfter,
        },
        'certificate renewal failed; the current certificate stays in service',
      );
      arm(entry, now() + pause);
      throw error;
    }
  }

  function renew(entry: Entry): Promise<StoredCertificate> {
    entry.renewing ??= renewOnce(entry).finally(() => {
      entry.renewing = null;
    });
    return entry.renewing;
  }

  async function release(name: string): Promise<void> {
    const entry = entries.get(name);
    if (entry?.timer) clearTimeout(entry.timer);
    entries.delete(name);
    await files.remove(name);
  }

  return {
    async manage(spec) {
      const existing = entries.get(spec.name);
      if (existing) return existing.certificate;
      const loaded = await files.load(spec.name);
      const covers = loaded && spec.names.every((name) => loaded.names.includes(name));
      const usable = loaded && covers && loaded.notAfter.getTime() > now() ? loaded : undefined;
      const certificate = usable ?? (await obtainFirst(spec));
      const entry: Entry = { spec, certificate, failures: 0, lastError: null, timer: null, renewing: null };
      entries.set(spec.name, entry);
      arm(entry, renewTime(certificate));
      return certificate;
    },
    current: (name) => entries.get(name)?.certificate,
    release,
    renewNow(name) {
      const entry = entries.get(name);
      if (!entry) return Promise.reject(new Error(`no certificate named ${name}`));
      return renew(entry);
    },
    onRenewed(listener) {
      listeners.push(listener);
    },
    status: () =>
      [...entries.values()].map((entry) => ({
        name: entry.spec.name,
        names: [...entry.spec.names],
        notAfter: entry.certificate.notAfter.toISOString(),
        renewAt: new Date(renewTime(entry.certificate)).toISOString(),
        failures: entry.failures,
        lastError: entry.lastError,
      })),
    stop() {
      stopped = true;
      for (const entry of entries.values()) if (entry.timer) clearTimeout(entry.timer);
    },
  };
}
