import type { ServerRoute } from '@hapi/hapi';
import type { HostInfoService } from '../../host/host-info.js';

export function infoRoutes(hostInfo: HostInfoService): ServerRoute[] {
  return [
    {
      method: 'GET',
      path: '/info',
      // Any query key is accepted (clients send others); only requestPeers=true means something.
      handler: (request) => hostInfo.info(request.query.requestPeers === 'true'),
    },
    {
      method: 'GET',
      path: '/memory',
      handler: async () => ({ freeMem: (await hostInfo.capacity()).freeMemoryBytes }),
    },
  ];
}
