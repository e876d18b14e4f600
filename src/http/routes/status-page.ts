import type { ServerRoute } from '@hapi/hapi';
import type { HostInfoService } from '../../host/host-info.js';
import { VERSION } from '../../version.js';
import { renderStatusPage } from '../status-page.js';

/** GET / and every GET no other route matches: the host's status page. */
export function statusPageRoutes(hostInfo: HostInfoService): ServerRoute[] {
  return [
    {
      method: 'GET',
      path: '/{path*}',
      handler: async (_request, h) => {
        const html = renderStatusPage({ version: VERSION, info: await hostInfo.info(false) });
        return h.response(html).type('text/html; charset=utf-8');
      },
    },
  ];
}
