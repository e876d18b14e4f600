import type { ServerRoute } from '@hapi/hapi';
import { CodiusError } from '../../domain/errors.js';
import type { PodManager } from '../../pods/pod-manager.js';
import { createLogFollowers, type LogFollowers } from '../../pods/log-followers.js';
import { mergeLogSources } from '../../pods/log-stream.js';

export const LOG_CONTENT_TYPE = 'application/vnd.codius.raw-stream';

/**
 * GET /pods/{id}/logs?follow=true|false: the logs of a live pod whose manifest has
 * `debug: true`, one `<container id> <stdout|stderr> <text>` line per log line, `ping` every second
 * while following. The upstream requests are closed as soon as the client goes away. At most 4
 * followers per pod and 64 in all are served at once.
 */
export function podLogRoutes(
  pods: Pick<PodManager, 'get' | 'manifest' | 'openLogs'>,
  followers: LogFollowers = createLogFollowers(),
): ServerRoute[] {
  return [
    {
      method: 'GET',
      path: '/pods/{id}/logs',
      handler: async (request, h) => {
        const id = request.params.id as string;
        const manifest = (await pods.get(id)) ? await pods.manifest(id) : undefined;
        if (!manifest) throw new CodiusError('logs_pod_not_found', { hash: id });
        if (manifest.debug !== true) throw new CodiusError('logs_not_allowed', { hash: id });

        // Only the exact string 'true' follows, as the codius CLI expects; anything else is a one-off dump.
        const follow = request.query.follow === 'true';
        // Followers are bounded per pod and in all (429 beyond); one-off dumps end by themselves.
        const release = follow ? followers.acquire(id) : () => undefined;
        const upstream = new AbortController();
        let sources;
        try {
          sources = await pods.openLogs(id, { follow, signal: upstream.signal });
        } catch (error) {
          release();
          throw error;
        }
        if (!sources) {
          release();
          throw new CodiusError('logs_pod_stopped', { hash: id });
        }
        const body = mergeLogSources(sources, { follow });
        request.raw.res.once('close', () => {
          release();
          upstream.abort();
          body.destroy();
        });
        // The vendor media type is not compressible to hapi, so lines reach the reader as they come.
        return h
          .response(body)
          .type(LOG_CONTENT_TYPE)
          .header('cache-control', 'no-cache')
          .header('x-accel-buffering', 'no');
      },
    },
  ];
}
