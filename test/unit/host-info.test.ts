import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHostInfoService, type MachineProbe } from '../../src/host/host-info.js';
import { createCapacity } from '../../src/pods/capacity.js';

const GiB = 2 ** 30;
const HASH = 'b'.repeat(52);

/** A host whose figures the test sets: pods, peers, readiness, price, and a machine whose clock ticks per read. */
function hostOf() {
  let seconds = 0;
  const clock = { advance: (by: number) => (seconds += by) };
  const state = { pods: 0, memoryMiB: 0, peers: 0, revision: 0, ready: true, reconciled: false, price: '10' };
  let uptimeReads = 0;
  const machine: MachineProbe = {
    totalmem: () => 8 * GiB,
    uptime: () => 1000 + (uptimeReads += 1),
    loadavg: () => [0.5, 0, 0],
    cpuCount: () => 2,
  };
  const capacity = createCapacity(
    { totalMemoryBytes: 8 * GiB, maxMemoryFraction: 0.5 },
    {
      usage: () => Promise.resolve({ runningCount: state.pods, reservedMemoryMiB: state.memoryMiB }),
      hasLivePod: () => Promise.resolve(false),
    },
  );
  const hostInfo = createHostInfoService(
    { publicUri: 'https://codius.example.com', additionalHostInfo: true, maxListedPeers: 10 },
    {
      revision: () => state.revision + capacity.revision(),
      podUsage: () => Promise.resolve({ runningCount: state.pods, reservedMemoryMiB: state.memoryMiB }),
      capacity,
      peerCount: () => Promise.resolve(state.peers),
      peerUris: () => Promise.resolve([]),
      asset: () => ({ code: 'XRP', scale: 9 }),
      readyForUploads: () => state.ready,
      podsReconciled: () => state.reconciled,
      selfTestSucceeded: () => false,
      costPerMonth: () => state.price,
    },
    machine,
    () => seconds,
  );
  const json = async (): Promise<Record<string, unknown>> =>
    JSON.parse(await hostInfo.infoJson()) as Record<string, unknown>;
  return { state, capacity, hostInfo, json, clock };
}

describe('/info as JSON', () => {
  it('is the info object, key for key and in order, with the clocks read for each answer', async () => {
    const { hostInfo, json, clock } = hostOf();
    const object = await hostInfo.info(false);
    const first = await json();
    assert.deepEqual(Object.keys(first), Object.keys(object));
    assert.deepEqual(
      { ...first, serverUptime: 0, serviceUptime: 0 },
      { ...object, serverUptime: 0, serviceUptime: 0 },
    );
    // Reused (nothing changed), yet each answer reads the clock again.
    const second = await json();
    assert.notEqual(second.serverUptime, first.serverUptime);
    clock.advance(0.05);
    assert.equal((await json()).serviceUptime, 0.05);
  });

  it('shows a change of pods, memory holds, readiness or price in the next answer', async () => {
    const { state, capacity, json } = hostOf();
    assert.equal((await json()).runningContracts, 0);
    state.pods = 1;
    state.memoryMiB = 512;
    state.revision += 1;
    const afterPod = await json();
    assert.equal(afterPod.runningContracts, 1);
    assert.equal(afterPod.serverFreeMemory, 4 * GiB - 512 * 2 ** 20);

    assert.equal(await capacity.hold('upload-1', HASH, 1024, 60_000), true);
    assert.equal((await json()).serverFreeMemory, 4 * GiB - 1536 * 2 ** 20);
    capacity.release('upload-1');
    assert.equal((await json()).serverFreeMemory, 4 * GiB - 512 * 2 ** 20);

    state.ready = false;
    assert.equal((await json()).acceptingUploads, false);
    state.reconciled = true;
    assert.equal((await json()).podsReconciled, true);
    state.price = '12.5';
    assert.equal((await json()).costPerMonth, 12.5);
  });

  it('reuses the machine-wide figures (peers) for at most 100 ms', async () => {
    const { state, json, clock } = hostOf();
    assert.equal((await json()).numPeers, 0);
    state.peers = 3;
    clock.advance(0.099);
    assert.equal((await json()).numPeers, 0, 'reused within 100 ms');
    clock.advance(0.001);
    assert.equal((await json()).numPeers, 3);
  });
});
