import type { ServerRoute } from '@hapi/hapi';
import { CodiusError } from '../domain/errors.js';
import { assetsTaken, type AdminServices } from './admin-services.js';
import { earningsOverTime, moneyByAssetCode } from './money.js';

const HOUR_MS = 3_600_000;
const MAX_PEERS_SHOWN = 1_000;
/** Ledger lines read for one earnings series; a busy host's day fits easily. */
const MAX_LEDGER_LINES = 200_000;

function podUrl(publicUri: string, hash: string): string {
  const url = new URL(publicUri);
  url.hostname = `${hash}.${url.hostname}`;
  return url.href;
}

/** `?name=` as a whole number in [min, max], or the default; 400 naming the parameter otherwise. */
function intQuery(raw: unknown, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' && /^\d{1,12}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new CodiusError('invalid_payload', {
      validation: { source: 'query', keys: [name], reason: `must be a whole number from ${min} to ${max}` },
    });
  }
  return value;
}

/** JSON for the operator (and the dashboard): pods, money, earnings over time, activity, peers, settings. */
export function adminApiRoutes(services: AdminServices): ServerRoute[] {
  const now = services.now ?? Date.now;
  return [
    {
      method: 'GET',
      path: '/api/pods',
      handler: async () => {
        const records = await services.pods.list();
        const pods = await Promise.all(
          records.map(async (record) => ({
            manifestHash: record.hash,
            url: podUrl(services.publicUri, record.hash),
            state: record.state,
            startedAt: new Date(record.startedAt).toISOString(),
            expiry: new Date(record.expiresAt).toISOString(),
            secondsLeft: Math.max(0, Math.floor((record.expiresAt - now()) / 1000)),
            memoryMiB: record.memoryMiB,
            totalUptimeSeconds: record.totalUptimeSeconds,
            port: record.port,
            address: record.ip,
            ilpBalance: (await services.podBalance?.(record.hash)) ?? null,
          })),
        );
        return { pods };
      },
    },
    {
      method: 'GET',
      path: '/api/money',
      handler: async () =>
        moneyByAssetCode(
          await services.ledger.accounts(),
          assetsTaken(services),
          await services.ledger.receivedByMethod(),
        ),
    },
    {
      method: 'GET',
      path: '/api/earnings',
      handler: async (request) => {
        const hours = intQuery(request.query.hours, 'hours', 24, 1, 24 * 366);
        const bucketMinutes = intQuery(request.query.bucketMinutes, 'bucketMinutes', 60, 1, 24 * 60);
        const bucketMs = bucketMinutes * 60_000;
        const until = now();
        const since = Math.floor((until - hours * HOUR_MS) / bucketMs) * bucketMs;
        const money = moneyByAssetCode(
          await services.ledger.accounts(),
          assetsTaken(services),
          await services.ledger.receivedByMethod(),
        );
        const scales = Object.fromEntries(Object.entries(money).map(([code, m]) => [code, m.assetScale]));
        const movements = await services.ledger.movementsSince(since, MAX_LEDGER_LINES);
        return {
          bucketMinutes,
          assets: money,
          buckets: earningsOverTime(movements, { since, until, bucketMs, scales }),
        };
      },
    },
    {
      method: 'GET',
      path: '/api/activity',
      handler: () => ({ at: new Date(now()).toISOString(), ...services.metrics.activityTotals() }),
    },
    {
      method: 'GET',
      path: '/api/peers',
      handler: async () => ({
        count: await services.peers.count(),
        peers: (await services.peers.list(MAX_PEERS_SHOWN)).map((peer) => ({
          uri: peer.uri,
          addedAt: new Date(peer.addedAt).toISOString(),
          lastSeenAt: peer.lastSeenAt === null ? null : new Date(peer.lastSeenAt).toISOString(),
          consecutiveFailures: peer.consecutiveFailures,
        })),
      }),
    },
    {
      method: 'GET',
      path: '/api/settings',
      handler: async () => ({
        costPerMonth: services.price.current(),
        costPerMonthSource: services.price.source(),
        asset: services.asset(),
        paymentMethods: services.paymentMethods().map(({ method, asset, costPerMonth }) => ({
          method,
          assetCode: asset.code,
          assetScale: asset.scale,
          costPerMonth,
        })),
        selfTest: services.selfTest(),
        renewalsActive: await services.renewalsActive(),
        ...services.settings(),
      }),
    },
    {
      method: 'GET',
      path: '/api/certificates',
      handler: () => ({ certificates: services.certificates() }),
    },
    {
      method: 'GET',
      path: '/metrics',
      handler: async (_request, h) =>
        h.response(await services.metrics.render()).type(services.metrics.contentType),
    },
  ];
}
