/** Publishes and withdraws the TXT records of DNS-01 challenges, whatever does it underneath. */
export interface DnsPublisher {
  /** What publishes, for logs and `codiusd doctor` (no secrets). */
  readonly description: string;
  add(name: string, value: string): Promise<void>;
  /** Removes only this value: several challenges may share one name at once. */
  remove(name: string, value: string): Promise<void>;
}

/** A publication the DNS side refused or that failed, with what it said. */
export class DnsPublishError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DnsPublishError';
  }
}
