import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHostMetrics, statusClass } from '../../src/metrics/host-metrics.js';
import { lateBoundSources } from '../../src/metrics/late-sources.js';
import { meteredRuntime } from '../../src/metrics/metered-runtime.js';
import { createFakeRuntime } from '../fakes/runtime.js';

/** Sample lines of the exposition text: `name{labels} value`, comments left out. */
function samples(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    map.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return map;
}

describe('host metrics', () => {
  it('counts what components report, reads the rest from their owners at scrape time', async () => {
    const late = lateBoundSources();
    const metrics = createHostMetrics(late.sources);
    assert.equal(samples(await metrics.render()).get('codiusd_ilp_connected'), 0, 'zero until bound');
    late.bind({
      podsByState: () => Promise.resolve({ running: 2, terminating: 1 }),
      peerCount: () => Promise.resolve(7),
      ilpConnected: () => true,
      selfTestPassed: () => true,
      certificates: () => [
        { kind: 'host', notAfter: '2027-01-01T00:00:00.000Z', failures: 2 },
        { kind: 'custom', notAfter: '2027-02-01T00:00:00.000Z', failures: 0 },
        { kind: 'custom', notAfter: '2026-12-20T00:00:00.000Z', failures: 1 },
      ],
      money: () =>
        Promise.resolve([
          {
            assetCode: 'XRP',
            received: 13612,
            earned: 12612,
            credit: 1000,
            methods: { stream: 13000, 'open-payments': 612 },
          },
        ]),
    });
    metrics.podRequestAnswered('upload', 200);
    metrics.podRequestAnswered('upload', 503);
    metrics.podRequestAnswered('extension', 200);
    metrics.paymentEnded('stream', 'XRP', 'complete', 2_283_106n);
    metrics.paymentEnded('stream', 'XRP', 'short', 0n);
    metrics.paymentEnded('open-payments', 'XRP', 'complete', 612n);
    metrics.podStarted(0.8);
    metrics.runtimeCallFailed('run_pod');
    metrics.proxyAnswered(200, 0.004);
    metrics.proxyAnswered(502, 0.2);
    const text = await metrics.render();
    const s = samples(text);
    assert.equal(s.get('codiusd_pods{state="running"}'), 2);
    assert.equal(s.get('codiusd_pods{state="starting"}'), 0);
    assert.equal(s.get('codiusd_pod_requests_total{kind="upload",status_class="5xx"}'), 1);
    assert.equal(s.get('codiusd_pod_requests_total{kind="extension",status_class="2xx"}'), 1);
    assert.equal(s.get('codiusd_payments_total{method="stream",asset_code="XRP",outcome="complete"}'), 1);
    assert.equal(s.get('codiusd_payments_total{method="stream",asset_code="XRP",outcome="short"}'), 1);
    assert.equal(
      s.get('codiusd_payments_total{method="open-payments",asset_code="XRP",outcome="complete"}'),
      1,
    );
    assert.equal(
      s.get('codiusd_payment_received_base_units_total{method="stream",asset_code="XRP"}'),
      2_283_106,
    );
    assert.equal(
      s.get('codiusd_money_received_by_method_base_units{method="open-payments",asset_code="XRP"}'),
      612,
    );
    assert.equal(s.get('codiusd_money_credit_base_units{asset_code="XRP"}'), 1000);
    assert.equal(s.get('codiusd_tls_certificates{kind="host"}'), 1);
    assert.equal(s.get('codiusd_tls_certificates{kind="custom"}'), 2);
    assert.equal(
      s.get('codiusd_tls_certificate_expiry_timestamp_seconds{kind="custom"}'),
      Date.parse('2026-12-20T00:00:00.000Z') / 1000,
      'the earliest of the kind',
    );
    assert.equal(s.get('codiusd_tls_certificate_renewal_failures{kind="host"}'), 2);
    assert.equal(s.get('codiusd_pod_start_duration_seconds_count'), 1);
    assert.equal(s.get('codiusd_runtime_errors_total{operation="run_pod"}'), 1);
    assert.equal(s.get('codiusd_proxy_requests_total{status_class="5xx"}'), 1);
    assert.equal(s.get('codiusd_proxy_request_duration_seconds_count'), 2);
    assert.equal(s.get('codiusd_peers'), 7);
    assert.equal(s.get('codiusd_self_test_passed'), 1);
    assert.ok(s.has('codiusd_process_resident_memory_bytes'), 'default process metrics');
    assert.deepEqual(metrics.activityTotals(), {
      uploads: 2,
      extensions: 1,
      proxied: { '1xx': 0, '2xx': 1, '3xx': 0, '4xx': 0, '5xx': 1 },
    });
    assert.equal(statusClass(0), 'none');
  });

  it('bounds asset codes as labels', async () => {
    const metrics = createHostMetrics(lateBoundSources().sources);
    for (let i = 0; i < 20; i += 1) metrics.paymentEnded('stream', `C${i}`, 'complete', 1n);
    const codes = new Set(
      [
        ...(await metrics.render()).matchAll(/codiusd_payments_total\{method="stream",asset_code="([^"]+)"/g),
      ].map((m) => m[1]),
    );
    assert.equal(codes.size, 9, 'eight codes and "other"');
    assert.ok(codes.has('other'));
  });

  it('meters a runtime: failures by operation, start durations, behaviour unchanged', async () => {
    const metrics = createHostMetrics(lateBoundSources().sources);
    const fake = createFakeRuntime();
    const runtime = meteredRuntime(fake, metrics);
    await runtime.prepare();
    assert.deepEqual(await runtime.listPods(), []);
    assert.equal(await runtime.inspectPod('x'), null);
    await runtime.deletePod('x');
    await runtime.pullImage('busybox@sha256:' + '1'.repeat(64));
    assert.equal(await runtime.removeImage('busybox@sha256:' + '1'.repeat(64)), 'missing');
    assert.equal(await runtime.openLogs('x', { follow: false, signal: new AbortController().signal }), null);
    fake.down = true;
    await assert.rejects(runtime.listPods());
    await assert.rejects(runtime.runPod({ hash: 'x', containers: [] } as never));
    fake.down = false;
    const s = samples(await metrics.render());
    assert.equal(s.get('codiusd_runtime_errors_total{operation="run_pod"}'), 1);
    assert.equal(s.get('codiusd_runtime_errors_total{operation="list_pods"}'), 1);
    assert.equal(s.get('codiusd_pod_start_duration_seconds_count'), 0, 'failed starts are not timed');
    assert.equal('importImage' in runtime, false, 'a runtime without local images stays without');
    await runtime.close();
  });
});
