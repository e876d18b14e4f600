import type { ServerRoute } from '@hapi/hapi';
import { SERVICE_NAME, VERSION } from '../../version.js';

export function versionRoutes(): ServerRoute[] {
  const body = { name: SERVICE_NAME, version: VERSION };
  return [{ method: 'GET', path: '/version', handler: () => body }];
}
