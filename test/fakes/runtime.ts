import { PassThrough } from 'node:stream';
import type { ManifestHash, PodPlan } from '../../src/domain/types.js';
import type { ContainerLogSource, PodRuntime, RuntimePod } from '../../src/runtime/driver.js';
import { ImageUnavailableError, RuntimeApiError, RuntimeUnavailableError } from '../../src/runtime/errors.js';
import { encodeFrame } from '../../src/runtime/stdcopy.js';

interface FakePod {
  plan: PodPlan;
  running: boolean;
  ip: string;
}

/**
 * An in-memory PodRuntime for the fast test tier. It keeps the interface's promises (idempotent deletes,
 * runPod replacing a leftover, cleanup after a failed start, images that may be missing) and lets a test
 * break it the ways a real runtime breaks: down, refusing deletes, losing or stopping pods behind
 * codiusd's back.
 */
export interface FakeRuntime extends PodRuntime {
  /** Pods the runtime has now, by hash. */
  readonly pods: ReadonlyMap<ManifestHash, FakePod>;
  /** Images that can be pulled (all when null). */
  availableImages: Set<string> | null;
  /** Images present locally (pulled by a start, or put here by a test). */
  images: Set<string>;
  /** Names of calls made, in order (`runPod <hash>`, `deletePod <hash>`…). */
  readonly calls: string[];
  /** While true every call fails as if nothing listened on the runtime's socket. */
  down: boolean;
  /** The next `n` deletes fail. */
  failDeletes(n: number): void;
  /** The next start fails after creating the pod (which the fake then removes, as drivers must). */
  failNextStart(reason?: string): void;
  /** The next start creates the pod, then the runtime goes down (`down`) before it can start or remove it. */
  dieDuringNextStart(): void;
  /** The pod stops (its containers exited) without codiusd knowing. */
  stop(hash: ManifestHash): void;
  /** The pod vanishes without codiusd knowing. */
  lose(hash: ManifestHash): void;
  /** A pod of this host nobody paid for (as a crash between create and record would leave). */
  plant(plan: PodPlan): void;
  /** Lines each container of a pod logs (stdout). */
  logs: Map<ManifestHash, string[]>;
  closed: boolean;
}

export function createFakeRuntime(): FakeRuntime {
  const pods = new Map<ManifestHash, FakePod>();
  const calls: string[] = [];
  let deleteFailures = 0;
  let startFailure: string | undefined;
  let dieDuringStart = false;
  let nextIp = 2;

  const fake: FakeRuntime = {
    name: 'fake',
    pods,
    availableImages: null,
    images: new Set(),
    calls,
    down: false,
    logs: new Map(),
    closed: false,
    failDeletes(n) {
      deleteFailures = n;
    },
    failNextStart(reason = 'injected start failure') {
      startFailure = reason;
    },
    dieDuringNextStart() {
      dieDuringStart = true;
    },
    stop(hash) {
      const pod = pods.get(hash);
      if (pod) pod.running = false;
    },
    lose(hash) {
      pods.delete(hash);
    },
    plant(plan) {
      pods.set(plan.hash, { plan, running: true, ip: `10.0.0.${nextIp++}` });
    },
    async prepare() {
      check('prepare');
      await Promise.resolve();
    },
    async runPod(plan) {
      check(`runPod ${plan.hash}`);
      for (const container of plan.containers) {
        if (fake.availableImages && !fake.availableImages.has(container.image)) {
          throw new ImageUnavailableError(container.image, 'manifest unknown');
        }
      }
      pods.delete(plan.hash);
      if (startFailure !== undefined) {
        const reason = startFailure;
        startFailure = undefined;
        throw new RuntimeApiError(500, reason);
      }
      if (dieDuringStart) {
        dieDuringStart = false;
        pods.set(plan.hash, { plan, running: false, ip: `10.0.0.${nextIp++}` });
        fake.down = true;
        throw new RuntimeUnavailableError('fake runtime died during a start');
      }
      const pod: FakePod = { plan, running: true, ip: `10.0.0.${nextIp++}` };
      pods.set(plan.hash, pod);
      const pulledImages = [...new Set(plan.containers.map((c) => c.image))].filter(
        (image) => !fake.images.has(image),
      );
      for (const image of pulledImages) fake.images.add(image);
      return Promise.resolve({ ...view(plan.hash, pod), pulledImages });
    },
    async inspectPod(hash) {
      check(`inspectPod ${hash}`);
      const pod = pods.get(hash);
      return Promise.resolve(pod ? view(hash, pod) : null);
    },
    async listPods() {
      check('listPods');
      return Promise.resolve([...pods].map(([hash, pod]) => ({ ...view(hash, pod), ip: null })));
    },
    async deletePod(hash) {
      check(`deletePod ${hash}`);
      if (deleteFailures > 0) {
        deleteFailures -= 1;
        throw new RuntimeApiError(500, 'injected: runtime refused to delete');
      }
      pods.delete(hash);
      return Promise.resolve();
    },
    async pullImage(image) {
      check(`pullImage ${image}`);
      if (fake.availableImages && !fake.availableImages.has(image)) {
        throw new ImageUnavailableError(image, 'manifest unknown');
      }
      return Promise.resolve();
    },
    async removeImage(image) {
      check(`removeImage ${image}`);
      const inUse = [...pods.values()].some((pod) => pod.plan.containers.some((c) => c.image === image));
      if (inUse) return Promise.resolve('in-use' as const);
      return Promise.resolve(fake.images.delete(image) ? ('removed' as const) : ('missing' as const));
    },
    async openLogs(hash) {
      check(`openLogs ${hash}`);
      const pod = pods.get(hash);
      if (!pod) return Promise.resolve(null);
      const lines = fake.logs.get(hash) ?? [];
      return Promise.resolve(
        pod.plan.containers.map((container): ContainerLogSource => {
          const frames = new PassThrough();
          frames.end(Buffer.concat(lines.map((line) => encodeFrame(1, `${line}\n`))));
          return { container: container.id, frames };
        }),
      );
    },
    async close() {
      fake.closed = true;
      return Promise.resolve();
    },
  };

  function check(call: string): void {
    calls.push(call);
    if (fake.down) throw new RuntimeUnavailableError('fake runtime is down');
  }

  function view(hash: ManifestHash, pod: FakePod): RuntimePod {
    return { hash, running: pod.running, ip: pod.running ? pod.ip : null };
  }

  return fake;
}
