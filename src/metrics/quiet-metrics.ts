import type { HostMetrics } from './host-metrics.js';

/**
 * The metrics of a host that serves none (the admin listener is off, so nothing could scrape them): every
 * report is dropped at once, and Prometheus's client is never loaded.
 */
export function quietMetrics(): HostMetrics {
  const nothing = (): void => undefined;
  return {
    contentType: 'text/plain; version=0.0.4; charset=utf-8',
    render: () => Promise.resolve(''),
    activityTotals: () => ({ uploads: 0, extensions: 0, proxied: {} }),
    podRequestAnswered: nothing,
    paymentEnded: nothing,
    renewal: nothing,
    podStarted: nothing,
    runtimeCallFailed: nothing,
    proxyAnswered: nothing,
  };
}
