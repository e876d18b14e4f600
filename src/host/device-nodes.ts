import { stat } from 'node:fs/promises';

/**
 * Device nodes every process of the host (and every pod, which gets them bound in) relies on. Each must be a
 * character device owned by root:root with mode 666; anything else means something changed the host, and
 * a pod may be the one holding it.
 */
export const HOST_DEVICES = [
  '/dev/null',
  '/dev/zero',
  '/dev/random',
  '/dev/urandom',
  '/dev/tty',
  '/dev/full',
];

/** A device node that is not as it must be, and what was found instead. */
export interface DeviceProblem {
  path: string;
  found: string;
}

export interface DeviceStat {
  isCharacterDevice(): boolean;
  uid: number;
  gid: number;
  mode: number;
}

/** The host's device nodes that are not root-owned character devices with mode 666. */
export async function deviceProblems(
  statOf: (path: string) => Promise<DeviceStat> = stat,
  devices: readonly string[] = HOST_DEVICES,
): Promise<DeviceProblem[]> {
  const problems: DeviceProblem[] = [];
  for (const path of devices) {
    let info: DeviceStat;
    try {
      info = await statOf(path);
    } catch {
      problems.push({ path, found: 'missing' });
      continue;
    }
    const mode = info.mode & 0o7777;
    if (!info.isCharacterDevice()) problems.push({ path, found: 'not a character device' });
    else if (info.uid !== 0 || info.gid !== 0 || mode !== 0o666) {
      problems.push({ path, found: `owner ${info.uid}:${info.gid}, mode ${mode.toString(8)}` });
    }
  }
  return problems;
}

/** How to put the device nodes back: owner and mode, or (for a missing or replaced node) a restart. */
export function deviceRepair(problems: readonly DeviceProblem[]): string {
  const changed = problems.filter((p) => p.found.startsWith('owner')).map((p) => p.path);
  const replaced = problems.filter((p) => !p.found.startsWith('owner')).map((p) => p.path);
  return [
    ...(changed.length > 0 ? [`chown root:root ${changed.join(' ')} && chmod 666 ${changed.join(' ')}`] : []),
    ...(replaced.length > 0 ? [`restart the machine to recreate ${replaced.join(' ')}`] : []),
  ].join('; ');
}

/** The host's device nodes were changed: no pod may run until they are restored. */
export class HostDevicesError extends Error {
  constructor(readonly problems: readonly DeviceProblem[]) {
    const found = problems.map((p) => `${p.path} (${p.found})`).join(', ');
    super(
      `the host's device nodes must be root-owned character devices with mode 666, and ${found} is not; no pod runs until they are restored: ${deviceRepair(problems)}`,
    );
    this.name = 'HostDevicesError';
  }
}

/** Resolves when every device node is as it must be; throws HostDevicesError naming the fix otherwise. */
export async function requireHostDevices(
  statOf?: (path: string) => Promise<DeviceStat>,
  devices?: readonly string[],
): Promise<void> {
  const problems = await deviceProblems(statOf, devices);
  if (problems.length > 0) throw new HostDevicesError(problems);
}
