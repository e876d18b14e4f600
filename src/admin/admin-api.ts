import type { Server } from '@hapi/hapi';
import { createHttpServer } from '../http/server.js';
import { requireAdminToken } from './admin-auth.js';
import type { AdminServices } from './admin-services.js';
import { adminApiRoutes } from './api-routes.js';
import { dashboardRoutes } from './dashboard.js';
import { legacyAdminRoutes } from './legacy-routes.js';

export interface AdminApiOptions {
  host: string;
  port: number;
  /** When set, every request must carry it (bearer, or basic-auth password). */
  token: string | null;
}

/**
 * The admin listener, not yet listening: the original admin routes, the JSON API under /api/, Prometheus
 * /metrics and the dashboard. Its own server, never the public one.
 */
export function createAdminApi(options: AdminApiOptions, services: AdminServices): Server {
  const server = createHttpServer({
    host: options.host,
    port: options.port,
    logger: services.logger,
    maxPayloadBytes: 16 * 1024,
  });
  if (options.token !== null) requireAdminToken(server, options.token);
  server.route([...legacyAdminRoutes(services), ...adminApiRoutes(services), ...dashboardRoutes(services)]);
  return server;
}
