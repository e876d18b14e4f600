import type { Server } from '@hapi/hapi';
import type { HostInfoService } from '../host/host-info.js';
import type { Logger } from '../logger.js';
import type { PodManager } from '../pods/pod-manager.js';
import type { UploadService } from '../uploads/upload-service.js';
import type { AddressRule } from '../net/address-list.js';
import { createClientResolver } from '../net/client-address.js';
import { paymentsPlugin } from './plugins/payments.js';
import { infoRoutes } from './routes/info.js';
import { peerRoutes, type PeerListing } from './routes/peers.js';
import { podLogRoutes } from './routes/pod-logs.js';
import { podRoutes } from './routes/pods.js';
import { deployRoutes } from './routes/deploy.js';
import { renewalRoutes } from './routes/renewal.js';
import { rentRoutes } from './routes/rent.js';
import type { RentReceiver } from '../payments/rent.js';
import type { RenewalService } from '../checkout/renewal-service.js';
import type { CheckoutService } from '../checkout/checkout-service.js';
import { statusPageRoutes } from './routes/status-page.js';
import { versionRoutes } from './routes/version.js';
import { createHttpServer, type HttpServerOptions } from './server.js';

export interface PublicApiOptions {
  host: string;
  port: number;
  publicUri: string;
  maxDurationSeconds: number;
  /** CODIUS_TRUSTED_PROXIES: whose X-Forwarded-For names the client. */
  trustedProxies?: readonly AddressRule[];
  logger: Logger;
  /** See HttpServerOptions.cleanStop. */
  cleanStop?: boolean;
  /** See HttpServerOptions.tls. */
  tls?: HttpServerOptions['tls'];
  /** Development mode (the checkout's wallets may be http on loopback). */
  dev?: boolean;
}

/** What the public routes are served from. */
export interface PublicApiServices {
  hostInfo: HostInfoService;
  /** Quotes, uploads, extensions and queries of pods. */
  uploads: UploadService;
  /** For the pods' debug logs. */
  pods: Pick<PodManager, 'get' | 'manifest' | 'openLogs'>;
  peers: PeerListing;
  /** The web checkout, when the host takes Open Payments. */
  checkout?: CheckoutService;
  /** Renewals begun at checkout (their stop links). */
  renewals?: RenewalService;
  /** Pods' rent addresses (STREAM), while the host takes STREAM. */
  rent?: RentReceiver;
}

/**
 * The public API (everything a Codius client, peer or browser asks the host itself) as a hapi server
 * with its routes, not yet listening: the daemon starts it, tests can `inject` into it.
 */
export async function createPublicApi(
  options: PublicApiOptions,
  services: PublicApiServices,
): Promise<Server> {
  const server = createHttpServer({
    host: options.host,
    port: options.port,
    logger: options.logger,
    ...(options.cleanStop === undefined ? {} : { cleanStop: options.cleanStop }),
    ...(options.tls ? { tls: options.tls } : {}),
  });
  await server.register({
    plugin: paymentsPlugin,
    options: { clientOf: createClientResolver(options.trustedProxies ?? []) },
  });
  server.route([
    ...versionRoutes(),
    ...infoRoutes(services.hostInfo),
    ...podRoutes({ maxDurationSeconds: options.maxDurationSeconds }, services.uploads),
    ...podLogRoutes(services.pods),
    ...peerRoutes(services.peers),
    ...deployRoutes(
      {
        publicUri: options.publicUri,
        maxDurationSeconds: options.maxDurationSeconds,
        dev: options.dev ?? false,
      },
      services.checkout,
    ),
    ...(services.renewals ? renewalRoutes(options.publicUri, services.renewals) : []),
    ...(services.rent ? rentRoutes(services.rent) : []),
    ...statusPageRoutes(services.hostInfo),
  ]);
  return server;
}
