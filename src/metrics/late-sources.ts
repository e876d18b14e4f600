import type { MetricsSources } from './host-metrics.js';

/** Sources that exist only later in the start: bound once they do; until then the figures are zero. */
export function lateBoundSources(): { sources: MetricsSources; bind(real: MetricsSources): void } {
  let bound: MetricsSources | undefined;
  return {
    bind: (real) => (bound = real),
    sources: {
      podsByState: async () => (bound ? bound.podsByState() : {}),
      peerCount: async () => (bound ? bound.peerCount() : 0),
      ilpConnected: () => bound?.ilpConnected() ?? false,
      selfTestPassed: () => bound?.selfTestPassed() ?? false,
      certificates: () => bound?.certificates() ?? [],
      money: async () => (bound ? bound.money() : []),
    },
  };
}
