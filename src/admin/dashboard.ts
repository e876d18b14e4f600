import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Request, ResponseToolkit, ServerRoute } from '@hapi/hapi';
import type { AdminServices } from './admin-services.js';
import { DASHBOARD_CSS, DASHBOARD_JS, renderDashboard } from './dashboard-page.js';
import { ADMIN_GREETING } from './legacy-routes.js';

const requireHere = createRequire(import.meta.url);

/** The chart library, read from node_modules on first use (a host nobody looks at never loads it). */
function vendorAsset(file: string): () => Promise<Buffer> {
  let content: Promise<Buffer> | undefined;
  return () => (content ??= readFile(requireHere.resolve(`uplot/dist/${file}`)));
}

const POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

function wantsHtml(request: Request): boolean {
  const accept: unknown = request.headers.accept;
  return typeof accept === 'string' && accept.includes('text/html');
}

/**
 * GET / is the dashboard for browsers and the admin greeting for everything else, so codiusd-gui and
 * scripts keep their answer; every other unknown GET gets the greeting too.
 */
export function dashboardRoutes(services: AdminServices, refreshSeconds = 5): ServerRoute[] {
  const uplotJs = vendorAsset('uPlot.iife.min.js');
  const uplotCss = vendorAsset('uPlot.min.css');
  const asset =
    (body: () => Promise<Buffer | string>, type: string) => async (_r: Request, h: ResponseToolkit) =>
      h
        .response(await body())
        .type(type)
        .header('cache-control', 'max-age=3600');
  return [
    {
      method: 'GET',
      path: '/',
      handler: (request, h) => {
        if (!wantsHtml(request)) return ADMIN_GREETING;
        const html = renderDashboard({ publicUri: services.publicUri, refreshSeconds });
        return h
          .response(html)
          .type('text/html; charset=utf-8')
          .header('content-security-policy', POLICY)
          .header('cache-control', 'no-store');
      },
    },
    {
      method: 'GET',
      path: '/assets/uPlot.iife.min.js',
      handler: asset(uplotJs, 'text/javascript; charset=utf-8'),
    },
    { method: 'GET', path: '/assets/uPlot.min.css', handler: asset(uplotCss, 'text/css; charset=utf-8') },
    {
      method: 'GET',
      path: '/assets/dashboard.js',
      handler: asset(() => Promise.resolve(DASHBOARD_JS), 'text/javascript; charset=utf-8'),
    },
    {
      method: 'GET',
      path: '/assets/dashboard.css',
      handler: asset(() => Promise.resolve(DASHBOARD_CSS), 'text/css; charset=utf-8'),
    },
    { method: 'GET', path: '/{path*}', handler: () => ADMIN_GREETING },
  ];
}
