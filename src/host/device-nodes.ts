import { lstat } from 'node:fs/promises';

/**
 * Device nodes every process of the host (and every pod, which gets them bound in) relies on, with the
 * kernel's numbers for each. Each must be that character device itself (not a link, not another device
 * under its name), owned by root with mode 666; anything else means something changed the host, and a pod
 * may be the one holding it.
 */
export const HOST_DEVICES: ReadonlyMap<string, { major: number; minor: number }> = new Map([
  ['/dev/null', { major: 1, minor: 3 }],
  ['/dev/zero', { major: 1, minor: 5 }],
  ['/dev/full', { major: 1, minor: 7 }],
  ['/dev/random', { major: 1, minor: 8 }],
  ['/dev/urandom', { major: 1, minor: 9 }],
  ['/dev/tty', { major: 5, minor: 0 }],
]);
/** udev gives /dev/tty to the tty group (gid 5 on Debian and most distributions); the rest are root's. */
const TTY_GROUP = 5;

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
  rdev: number;
}

/** Linux's encoding of a device number (what glibc's major() and minor() decode), exactly. */
function numbersOf(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

function problemOf(path: string, info: DeviceStat, wanted: { major: number; minor: number }): string | null {
  if (!info.isCharacterDevice()) return 'not a character device';
  const { major, minor } = numbersOf(info.rdev);
  if (major !== wanted.major || minor !== wanted.minor)
    return `device ${major}:${minor}, not ${wanted.major}:${wanted.minor}`;
  const mode = info.mode & 0o7777;
  const groupOk = info.gid === 0 || (path === '/dev/tty' && info.gid === TTY_GROUP);
  if (info.uid !== 0 || !groupOk || mode !== 0o666)
    return `owner ${info.uid}:${info.gid}, mode ${mode.toString(8)}`;
  return null;
}

/** The host's device nodes that are not the root-owned character devices with mode 666 they must be. */
export async function deviceProblems(
  statOf: (path: string) => Promise<DeviceStat> = lstat,
  devices: ReadonlyMap<string, { major: number; minor: number }> = HOST_DEVICES,
): Promise<DeviceProblem[]> {
  const problems: DeviceProblem[] = [];
  for (const [path, wanted] of devices) {
    let info: DeviceStat;
    try {
      info = await statOf(path);
    } catch {
      problems.push({ path, found: 'missing' });
      continue;
    }
    const found = problemOf(path, info, wanted);
    if (found !== null) problems.push({ path, found });
  }
  return problems;
}

/** How to put the device nodes back: owner and mode, or (for a missing or replaced node) a restart. */
export function deviceRepair(problems: readonly DeviceProblem[]): string {
  const changed = problems.filter((p) => p.found.startsWith('owner')).map((p) => p.path);
  const replaced = problems.filter((p) => !p.found.startsWith('owner')).map((p) => p.path);
  return [
    ...changed.map(
      (path) => `chown root:${path === '/dev/tty' ? 'tty' : 'root'} ${path} && chmod 666 ${path}`,
    ),
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
  devices?: ReadonlyMap<string, { major: number; minor: number }>,
): Promise<void> {
  const problems = await deviceProblems(statOf, devices);
  if (problems.length > 0) throw new HostDevicesError(problems);
}
