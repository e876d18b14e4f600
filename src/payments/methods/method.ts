import type { HostAsset, ManifestHash, PaymentOffer } from '../../domain/types.js';

export type { PaymentOffer } from '../../domain/types.js';

/** The ways a host is paid, by the name its configuration, ledger and figures use. */
export type PaymentMethodName = 'stream' | 'open-payments';

/** What a payment buys, so every amount of it is recorded with that before it is taken. */
export interface PaymentPurpose {
  hash: ManifestHash;
  asset: HostAsset;
  /** What the time is for. */
  use: 'upload' | 'extend';
  durationSeconds: number;
  /** sha256 of the request's pay token: the key a payment's money is recorded and booked under. */
  payTokenHash: string;
  /**
   * Asked once, as the money completing the payment arrives: whether what it buys can still be had (the
   * memory of a new pod). False refuses that money and ends the payment.
   */
  admit?: () => Promise<boolean>;
}

/** What a payer delivered for one request. */
export interface CollectedPayment {
  /** Base units that arrived; final, nothing more can arrive for this request. */
  received: bigint;
  /** Whether `received` reached the amount asked for in time. */
  complete: boolean;
  /** The payment was ended as it completed: what it would buy was no longer available. */
  refused?: boolean;
  /**
   * The method's own name for this payment (an incoming payment's URL), booked with it: the ledger books
   * the money of one reference once, whatever happens.
   */
  ref: string | null;
}

/** A payment a payer made, or is making, with one method for one request; claimed once. */
export interface ClaimedPayment {
  readonly method: PaymentMethodName;
  readonly asset: HostAsset;
  /** Waits for `amount` (the price less credit) within the method's time, recording what arrives. */
  collect(amount: bigint, purpose: PaymentPurpose): Promise<CollectedPayment>;
  /** The payment is booked and answered for: release what the method holds for it. */
  finish(): void;
}

/** What an offer is for. */
export interface OfferRequest {
  token: Buffer;
  /** Who asks (an address, or a /64), for per-client bounds. */
  client: string;
  purpose: Omit<PaymentPurpose, 'admit'>;
  /** What the payer is asked for in this method's asset: the price less the manifest's credit. */
  amount: bigint;
}

/**
 * One way of being paid, behind the same small interface as every other: its asset and price, the payment
 * a payer made for a pay token, an offer for a 402, and what a crash left to book.
 */
export interface PaymentMethod {
  readonly name: PaymentMethodName;
  /** The asset it is paid in; null while it cannot take payments. */
  asset(): HostAsset | null;
  /** Whole units of its asset per 2,628,000 s, exact decimal. */
  costPerMonth(): string;
  /** The payment made (or under way) with this method for this pay token, if any. */
  claim(token: Buffer): Promise<ClaimedPayment | undefined>;
  /** What a 402 offers for this method. */
  offer(request: OfferRequest): Promise<PaymentOffer>;
  /**
   * At start, before any payment is taken: money a stop interrupted (or an offer that ended unpaid)
   * becomes its manifest's credit, booked once. A method may keep doing so in the background until stop().
   */
  recover(): Promise<void>;
  stop?(): Promise<void>;
}
