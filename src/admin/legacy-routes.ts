import type { ServerRoute } from '@hapi/hapi';
import Joi from 'joi';
import { CodiusError, codiusError } from '../domain/errors.js';
import type { PodRecord } from '../domain/types.js';
import { decimalText } from '../host/price-setting.js';
import { assetsTaken, type AdminServices } from './admin-services.js';
import { earningsInWholeUnits } from './money.js';

/** PodInfo, the shape codiusd-gui reads. */
export function podInfo(record: PodRecord): Record<string, unknown> {
  return {
    id: record.hash,
    running: record.state === 'running',
    start: new Date(record.startedAt).toISOString(),
    expiry: new Date(record.expiresAt).toISOString(),
    memory: record.memoryMiB,
    totalUptime: record.totalUptimeSeconds,
    ...(record.port === null ? {} : { port: record.port }),
    ...(record.ip === null ? {} : { ip: record.ip }),
  };
}

const CONFIG_SCHEMA = Joi.object({ hostCostPerMonth: Joi.number().min(0).max(1e12).required() });

/**
 * The admin routes codiusd-gui calls, with their shapes: running pods, one pod's
 * info, aggregate uptime and earnings, the price (kept in the store now), and the catch-all greeting.
 */
export function legacyAdminRoutes(services: AdminServices): ServerRoute[] {
  return [
    {
      method: 'GET',
      path: '/getPods',
      handler: async () => ({
        running: (await services.pods.list()).filter((pod) => pod.state === 'running').map((pod) => pod.hash),
      }),
    },
    {
      method: 'GET',
      path: '/getPodInfo',
      handler: async (request) => {
        const id: unknown = request.query.id;
        if (typeof id !== 'string' || id === '') throw codiusError('admin_pod_id_missing');
        const record = await services.pods.get(id.toLowerCase());
        if (!record) throw new CodiusError('manifest_not_found', { hash: id.slice(0, 60) });
        return podInfo(record);
      },
    },
    {
      method: 'GET',
      path: '/getAllUptime',
      handler: async () => {
        const pods = await services.pods.list();
        const uptime = pods.reduce((sum, pod) => sum + pod.totalUptimeSeconds, 0);
        return {
          aggregate_pod_uptime: String(uptime),
          aggregate_earnings: earningsInWholeUnits(await services.ledger.accounts(), assetsTaken(services)),
        };
      },
    },
    {
      method: 'POST',
      path: '/config',
      options: {
        validate: {
          payload: CONFIG_SCHEMA,
          failAction: (_request, _h, error) => {
            throw new CodiusError('admin_config_invalid', {
              reason: error instanceof Error ? error.message : 'not {"hostCostPerMonth": number}',
            });
          },
        },
      },
      handler: async (request, h) => {
        const { hostCostPerMonth } = request.payload as { hostCostPerMonth: number };
        const text = decimalText(hostCostPerMonth);
        // 0 leaves the price as it is: a stray 0 from a form must not make every pod free (a host that
        // gives pods away sets that in its config).
        if (hostCostPerMonth && text !== null) {
          await services.price.set(text);
          services.logger.info({ costPerMonth: text }, 'price per month set through the admin API');
        }
        return h.response().code(204);
      },
    },
  ];
}

/** The admin API's answer to every other GET, which codiusd-gui checks for (the dashboard takes `/` for browsers). */
export const ADMIN_GREETING = { test: 'This shows that you are running the Codiusd Admin API.' };
