import type { ManifestHash, PodRecord } from '../../domain/types.js';
import type { Logger } from '../../logger.js';
import { resolvePod } from '../routing.js';
import type { HaproxyRuntimeApi } from './runtime-api.js';

/** Timers cannot wait longer than this; a pod living longer is looked at again then. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;
/**
 * HAProxy reads a command with its payload into one buffer (tune.bufsize, 16 KiB by default): routes are
 * added in payloads of at most this many bytes, about 160 routes per command.
 */
const PAYLOAD_BYTES = 15_000;

/** Lines `key value` grouped into payloads of at most PAYLOAD_BYTES each. */
function payloadsOf(entries: Iterable<readonly [string, string]>): string[] {
  const payloads: string[] = [];
  let payload = '';
  for (const [key, value] of entries) {
    const line = `${key} ${value}\n`;
    if (payload.length + line.length > PAYLOAD_BYTES && payload !== '') {
      payloads.push(payload);
      payload = '';
    }
    payload += line;
  }
  if (payload !== '') payloads.push(payload);
  return payloads;
}

export interface RouteMapOptions {
  /** The routes file HAProxy loaded; runtime commands name the map by it. */
  mapPath: string;
  /** The public URI's hostname (lower case): pods are `<hash>.<hostname>`. */
  publicHostname: string;
  lookup: (hash: ManifestHash) => PodRecord | undefined;
  logger: Logger;
  now?: () => number;
}

export interface RouteMap {
  /** Looks at one pod again (its record changed, or it is gone) and changes HAProxy's map to match. */
  refresh(hash: ManifestHash): void;
  /** Looks at every pod (after a full reload of the directory). */
  refreshAll(hashes: Iterable<ManifestHash>): void;
  /** The map file's text for what should be routed now, for HAProxy to load when it starts. */
  fileText(): string;
  /** Connects to a (re)started HAProxy: replaces its whole map with what should be routed, atomically. */
  attach(api: HaproxyRuntimeApi): Promise<void>;
  /** Stops changing HAProxy (it is stopping or gone); changes are kept for the next attach. */
  detach(): void;
  /** Every change sent so far has been answered. */
  settled(): Promise<void>;
  /** Routes HAProxy has now (as far as codiusd knows). */
  size(): number;
  close(): void;
}

/**
 * Keeps HAProxy's routes map in step with the pod directory: a pod is routed while codiusd's own proxy
 * would send its traffic to it (running, a port, time left), under `<hash>.<public host>` → `<ip>/<port>`.
 * The route is added when the pod starts, changed when its address changes, and removed the moment its
 * time is up (a timer at its expiry, not the expiry sweep), so HAProxy never serves a pod codiusd would
 * not. Changes since the last flush go over the runtime socket together; one that fails marks the map for
 * a full replace.
 */
export function createRouteMap(options: RouteMapOptions): RouteMap {
  const { lookup, logger, mapPath } = options;
  const now = options.now ?? Date.now;
  const wanted = new Map<string, string>();
  const timers = new Map<ManifestHash, NodeJS.Timeout>();
  let api: HaproxyRuntimeApi | undefined;
  let applied = new Map<string, string>();
  let queue: Promise<void> = Promise.resolve();
  let stale = false;
  /** Keys whose wanted route changed since the last flush; one flush at a time is queued. */
  const dirty = new Set<string>();
  let flushQueued = false;

  const keyOf = (hash: ManifestHash): string => `${hash.toLowerCase()}.${options.publicHostname}`;

  function schedule(hash: ManifestHash, record: PodRecord | undefined): void {
    clearTimeout(timers.get(hash));
    timers.delete(hash);
    if (!record) return;
    const wait = record.expiresAt - now();
    if (wait <= 0) return;
    const timer = setTimeout(() => refresh(hash), Math.min(wait, LONGEST_TIMER_MS));
    timer.unref();
    timers.set(hash, timer);
  }

  function enqueue(work: (connected: HaproxyRuntimeApi) => Promise<void>): void {
    queue = queue.then(async () => {
      const connected = api;
      if (!connected) return;
      try {
        await work(connected);
      } catch (error) {
        stale = true;
        logger.warn({ err: error }, 'HAProxy route change failed; the whole map will be replaced');
        await replaceAll(connected).catch((again: unknown) => {
          logger.error({ err: again }, 'HAProxy routes could not be replaced; retrying at the next change');
        });
      }
    });
  }

  async function replaceAll(connected: HaproxyRuntimeApi): Promise<void> {
    dirty.clear();
    const snapshot = new Map(wanted);
    const prepared = await connected.send(`prepare map ${mapPath}`);
    const version = /version created: (\d+)/i.exec(prepared)?.[1];
    if (version === undefined) throw new Error(`HAProxy did not prepare a map version: ${prepared.trim()}`);
    for (const payload of payloadsOf(snapshot))
      await connected.send(`add map @${version} ${mapPath} <<\n${payload}`);
    await connected.send(`commit map @${version} ${mapPath}`);
    applied = snapshot;
    stale = false;
  }

  /**
   * Sends what changed since the last flush: a removed or moved route one command each, new routes in
   * payloads (a host that loads thousands of pods adds them in a few hundred commands, not one each).
   */
  async function flush(connected: HaproxyRuntimeApi): Promise<void> {
    if (stale) return replaceAll(connected);
    const keys = [...dirty];
    dirty.clear();
    const added: Array<[string, string]> = [];
    for (const key of keys) {
      const target = wanted.get(key);
      const current = applied.get(key);
      if (target === current) continue;
      if (target === undefined) {
        await connected.send(`del map ${mapPath} ${key}`);
        applied.delete(key);
      } else if (current === undefined) added.push([key, target]);
      else {
        await connected.send(`set map ${mapPath} ${key} ${target}`);
        applied.set(key, target);
      }
    }
    for (const payload of payloadsOf(added)) await connected.send(`add map ${mapPath} <<\n${payload}`);
    for (const [key, target] of added) applied.set(key, target);
  }

  function scheduleFlush(): void {
    if (flushQueued) return;
    flushQueued = true;
    // Cleared as the flush's turn comes, so a change made while it runs queues the next one.
    queue = queue.then(() => {
      flushQueued = false;
    });
    enqueue(flush);
  }

  function refresh(hash: ManifestHash): void {
    const record = lookup(hash);
    const key = keyOf(hash);
    const resolution = resolvePod(hash, record, now());
    const value = resolution.ok ? `${resolution.host}/${resolution.port}` : undefined;
    schedule(hash, resolution.ok ? record : undefined);
    if (value === wanted.get(key)) return;
    if (value === undefined) wanted.delete(key);
    else wanted.set(key, value);
    dirty.add(key);
    scheduleFlush();
  }

  return {
    refresh,
    refreshAll(hashes) {
      for (const hash of hashes) refresh(hash);
    },
    fileText: () => [...wanted].map(([key, value]) => `${key} ${value}\n`).join(''),
    async attach(connected) {
      api = connected;
      enqueue(replaceAll);
      await queue;
      if (stale) throw new Error('HAProxy routes could not be loaded');
    },
    detach() {
      api = undefined;
    },
    settled: () => queue,
    size: () => applied.size,
    close() {
      api = undefined;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
