/**
 * Domain types shared by every layer of codiusd. Modules at the edges (HTTP, store, runtime drivers, ILP)
 * translate to and from these shapes; nothing here does I/O.
 */

/** A 52-character lower-case RFC 4648 base32 sha256 of a manifest's canonical JSON. */
export type ManifestHash = string;

/** Lifecycle of a pod as the store records it. The store is the source of truth. */
export type PodState = 'starting' | 'running' | 'terminating';

export interface PodRecord {
  hash: ManifestHash;
  state: PodState;
  /** When the current paid run started (ms since epoch). */
  startedAt: number;
  /** When the paid time runs out (ms since epoch). */
  expiresAt: number;
  /** Memory reserved for the pod, in MiB. */
  memoryMiB: number;
  /** Seconds of paid time bought for this manifest over its life on this host. */
  totalUptimeSeconds: number;
  /** TCP port the pod serves HTTP on, if its manifest declares one. */
  port: number | null;
  /** Pod IP on the runtime's network, once known. */
  ip: string | null;
}

/** Aggregate figures about pods, for /info and capacity decisions. */
export interface PodUsage {
  runningCount: number;
  reservedMemoryMiB: number;
}

export interface PeerRecord {
  uri: string;
  addedAt: number;
  lastSeenAt: number | null;
  consecutiveFailures: number;
}

/** Why money was received. */
export type LedgerPurpose = 'upload' | 'extend' | 'quote' | 'credit-used';

export interface LedgerEntry {
  id: number;
  at: number;
  manifestHash: ManifestHash | null;
  /** Integer amount in the asset's base units, as a decimal string (may exceed 2^53). */
  amount: string;
  assetCode: string;
  assetScale: number;
  purpose: LedgerPurpose;
  /** sha256 hex of the pay token; the token itself is never stored. */
  payTokenHash: string | null;
}

/** The asset the host is paid in, learned over ILDCP. */
export interface HostAsset {
  code: string;
  scale: number;
}

/** Host figures reported at GET /info. Field order matches the original's response. */
export interface HostInfo {
  fullMem: boolean;
  acceptingUploads: boolean;
  /** Bytes still available to pods: total memory × CODIUS_MAX_MEMORY_FRACTION − memory reserved by pods. */
  serverFreeMemory: number;
  serverUptime: number;
  serviceUptime: number;
  avgLoad: number;
  numPeers: number;
  /** Asset code the host is paid in, or null while it is not known (no ILP connection yet). */
  currency: string | null;
  costPerMonth: number;
  uri: string;
  selfTestSuccess: boolean;
  runningContracts?: number;
  peers?: string[];
}
