import { connect } from 'node:net';
import type { PodPlan } from '../../domain/types.js';
import { sleep } from '../../util/sleep.js';
import { ContainerExitedError, RuntimeApiError } from '../errors.js';
import { parseJson } from '../unix-http.js';
import { expectStatus, type LibpodCall } from './libpod.js';
import { LABEL_CONTAINER_ID } from './specs.js';

/** What settling reads of a pod's inspect answer. */
export interface InspectedPod {
  Name: string;
  State: string;
  InfraContainerID?: string;
  Containers?: Array<{ Id: string; Name: string; State: string }> | null;
}

interface InspectedContainer {
  State?: { Status?: string; ExitCode?: number };
  Config?: { Labels?: Record<string, string> | null };
}

/** Whether something accepts TCP connections at host:port within `timeoutMs`. */
function accepts(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(Math.max(1, timeoutMs), () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Why a pod that should run does not: the first container that exited, with its exit code. */
export async function whyNotRunning(call: LibpodCall, pod: InspectedPod): Promise<Error> {
  for (const container of pod.Containers ?? []) {
    if (container.Id === pod.InfraContainerID) continue;
    const response = await call('GET', `/containers/${container.Id}/json`);
    if (response.status === 404) continue;
    expectStatus(response, 'container inspect', 200);
    const inspected = parseJson(response, 'container inspect') as InspectedContainer;
    const status = inspected.State?.Status ?? container.State;
    if (status === 'exited' || status === 'stopped' || status === 'dead') {
      const id = inspected.Config?.Labels?.[LABEL_CONTAINER_ID] ?? container.Name;
      return new ContainerExitedError(id, inspected.State?.ExitCode ?? null);
    }
  }
  return new RuntimeApiError(0, `podman pod ${pod.Name} is ${pod.State} right after start`);
}

/**
 * A pod counts as started only once it stays up: until its port accepts a connection (or, without a
 * port, for a moment), within `settleMs`; then it must still be running. A command that cannot run, or
 * that exits at once, is a failed start naming the container and its exit code.
 */
export async function settle(
  call: LibpodCall,
  plan: Pick<PodPlan, 'port'>,
  ip: string | null,
  inspect: () => Promise<InspectedPod | null>,
  isRunning: (pod: InspectedPod) => boolean,
  settleMs: number,
): Promise<void> {
  const deadline = Date.now() + settleMs;
  if (plan.port !== null && ip !== null) {
    while (Date.now() < deadline && !(await accepts(ip, plan.port, deadline - Date.now()))) {
      const pod = await inspect();
      if (!pod || !isRunning(pod)) break;
      await sleep(100);
    }
  } else {
    await sleep(Math.min(settleMs, 1_000));
  }
  const pod = await inspect();
  if (!pod) throw new RuntimeApiError(404, 'the pod vanished right after start');
  if (!isRunning(pod)) throw await whyNotRunning(call, pod);
}
