import type { Server } from '@hapi/hapi';
import { createHttpServer } from '../http/server.js';
import { guardAdminRequests } from './admin-guard.js';
import type { AdminServices } from './admin-services.js';
import { adminApiRoutes } from './api-routes.js';
import { dashboardRoutes } from './dashboard.js';
import { legacyAdminRoutes } from './legacy-routes.js';

export interface AdminApiOptions {
  host: string;
  port: number;
  /** Every request but the dashboard's empty page must carry it (bearer, or the basic-auth password). */
  token: string;
  /** Names the listener answers to besides its addresses and localhost (CODIUS_ADMIN_HOSTS). */
  hostnames: readonly string[];
}

/**
 * The admin listener, not yet listening: the routes codiusd-gui calls, the JSON API under /api/, Prometheus
 * /metrics and the dashboard. Its own server, never the public one.
 */
export function createAdminApi(options: AdminApiOptions, services: AdminServices): Server {
  const server = createHttpServer({
    host: options.host,
    port: options.port,
    logger: services.logger,
    maxPayloadBytes: 16 * 1024,
  });
  guardAdminRequests(server, { token: options.token, hostnames: options.hostnames });
  server.route([...legacyAdminRoutes(services), ...adminApiRoutes(services), ...dashboardRoutes(services)]);
  return server;
}
