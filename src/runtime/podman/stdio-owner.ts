/**
 * The program of codiusd's OCI prestart hook (see stdio-hook.ts). The OCI runtime runs it as host root
 * with the container's state on stdin, after the container's process exists and before any of the
 * container's own code runs. It hands the container's stdio pipes to the container's root, so an app in a
 * user namespace can reopen `/dev/stdout` (the official nginx image logs through such links).
 *
 * Safe by construction: a descriptor changes owner only when it is a pipe that the container's conmon holds
 * too (so conmon made it for this container) and that still belongs to host root; the change is made with
 * fchown on a descriptor opened and checked here, so no path is followed to a device or a file. A container
 * whose stdin is the host's /dev/null keeps it untouched.
 */
import {
  closeSync,
  constants,
  fchownSync,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
} from 'node:fs';
import { pathToFileURL } from 'node:url';

/** What the hook reads from /proc; a seam for tests. */
export interface ProcReader {
  /** A file's text, or null when it cannot be read. */
  read(path: string): string | null;
  /** A link's target, or null. */
  readlink(path: string): string | null;
  /** A directory's entries, or none. */
  list(path: string): string[];
  /** A file's owner, or null. */
  owner(path: string): { uid: number; gid: number } | null;
}

/** A descriptor of the container's process that may change owner: its number and the pipe's inode. */
export interface StdioPipe {
  fd: number;
  inode: bigint;
}

const PIPE_LINK = /^pipe:\[(\d+)\]$/;
/** conmon starts the OCI runtime, which starts the container's process: two levels, a little slack. */
const MAX_ANCESTORS = 4;

/** The container's process id from the OCI state document, or null for anything unexpected. */
export function containerPid(stateText: string): number | null {
  let state: unknown;
  try {
    state = JSON.parse(stateText);
  } catch {
    return null;
  }
  if (typeof state !== 'object' || state === null) return null;
  const pid = (state as { pid?: unknown }).pid;
  return typeof pid === 'number' && Number.isSafeInteger(pid) && pid > 1 ? pid : null;
}

/** The parent of a process, from /proc/<pid>/stat (the field after the parenthesised command). */
function parentOf(proc: ProcReader, pid: number): number | null {
  const stat = proc.read(`/proc/${pid}/stat`);
  if (stat === null) return null;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const parent = Number(fields[1]);
  return Number.isSafeInteger(parent) && parent > 0 ? parent : null;
}

/** The conmon process among the container process's ancestors. */
function conmonOf(proc: ProcReader, pid: number): number | null {
  let current: number | null = pid;
  for (let level = 0; level < MAX_ANCESTORS && current !== null && current > 1; level += 1) {
    current = parentOf(proc, current);
    if (current !== null && proc.read(`/proc/${current}/comm`)?.trim() === 'conmon') return current;
  }
  return null;
}

function pipeInode(link: string | null): bigint | null {
  const inode = link === null ? undefined : PIPE_LINK.exec(link)?.[1];
  return inode === undefined ? null : BigInt(inode);
}

/**
 * The container process's descriptors 0–2 that are pipes its conmon holds as well: what may be handed to
 * the container's root. Anything else (the host's /dev/null, a file, a terminal) is left alone.
 */
export function stdioPipes(proc: ProcReader, pid: number): StdioPipe[] {
  const conmon = conmonOf(proc, pid);
  if (conmon === null) return [];
  const held = new Set<bigint>();
  for (const fd of proc.list(`/proc/${conmon}/fd`)) {
    const inode = pipeInode(proc.readlink(`/proc/${conmon}/fd/${fd}`));
    if (inode !== null) held.add(inode);
  }
  return [0, 1, 2].flatMap((fd) => {
    const inode = pipeInode(proc.readlink(`/proc/${pid}/fd/${fd}`));
    return inode !== null && held.has(inode) ? [{ fd, inode }] : [];
  });
}

const realProc: ProcReader = {
  read: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  },
  readlink: (path) => {
    try {
      return readlinkSync(path);
    } catch {
      return null;
    }
  },
  list: (path) => {
    try {
      return readdirSync(path);
    } catch {
      return [];
    }
  },
  owner: (path) => {
    try {
      const { uid, gid } = statSync(path);
      return { uid, gid };
    } catch {
      return null;
    }
  },
};

/**
 * Opens the pipe behind the container's descriptor (non-blocking, never as a controlling terminal),
 * checks that what was opened is that very pipe and still host root's, and changes the owner of exactly it.
 */
function handOver(pid: number, pipe: StdioPipe, owner: { uid: number; gid: number }): void {
  let fd: number;
  try {
    fd = openSync(
      `/proc/${pid}/fd/${pipe.fd}`,
      constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY,
    );
  } catch {
    return;
  }
  try {
    const opened = fstatSync(fd, { bigint: true });
    if (opened.isFIFO() && opened.ino === pipe.inode && opened.uid === 0n)
      fchownSync(fd, owner.uid, owner.gid);
  } finally {
    closeSync(fd);
  }
}

/** The hook: reads the state, hands over what is safe to hand over, and never fails the container's start. */
export function runStdioOwnerHook(stateText: string, proc: ProcReader = realProc): void {
  const pid = containerPid(stateText);
  if (pid === null) return;
  const owner = proc.owner(`/proc/${pid}`);
  // A process owned by host root is in no user namespace of its own: its stdio needs nothing.
  if (owner === null || owner.uid === 0) return;
  for (const pipe of stdioPipes(proc, pid)) handOver(pid, pipe, owner);
}

const invokedPath = process.argv[1];
if (invokedPath !== undefined && import.meta.url === pathToFileURL(invokedPath).href) {
  let state = '';
  try {
    state = readFileSync(0, 'utf8');
  } catch {
    // No state: nothing to do.
  }
  try {
    runStdioOwnerHook(state);
  } catch {
    // The hook only ever grants; a failure leaves the container as Podman made it.
  }
}
