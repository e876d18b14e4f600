import { access, chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { OciRuntime } from '../settings.js';
import type { Hardening } from './specs.js';

/** The OCI runtime cannot be used as configured; the message says what to install or change. */
export class OciRuntimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OciRuntimeError';
  }
}

/** How a runtime confines containers: gVisor is a sandbox of its own and takes no user namespace. */
export function hardeningFor(runtime: OciRuntime): Hardening {
  return runtime === 'runsc'
    ? { userNamespace: false, gvisor: true }
    : { userNamespace: true, gvisor: false };
}

async function onPath(binary: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    const path = join(dir, binary);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // Not in this directory.
    }
  }
  return null;
}

/**
 * Makes sure the runtime can run and returns what Podman's `--runtime` should be. runc and crun are used
 * by name. runsc goes through a wrapper under CODIUS_ROOT that adds `--network=host`: gVisor then uses the
 * pod's own network namespace (its check for the host namespace misfires on this kernel), so the pod
 * stays in its namespace and behind the pod firewall. It also adds `--overlay2=root:memory`: a container's
 * root filesystem takes writes into the sandbox's memory, never onto the host's disk.
 */
export async function prepareOciRuntime(runtime: OciRuntime, root: string): Promise<string> {
  const binary = await onPath(runtime);
  if (!binary) {
    throw new OciRuntimeError(
      `CODIUS_OCI_RUNTIME=${runtime}, but ${runtime} is not installed: apt-get install ${runtime} (scripts/setup-podman.sh does)`,
    );
  }
  if (runtime !== 'runsc') return runtime;
  const dir = join(root, 'oci');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const wrapper = join(dir, 'runsc');
  await writeFile(
    wrapper,
    `#!/bin/sh\n# Written by codiusd: gVisor in the pod's own network namespace, its root filesystem's writes in memory.\nexec ${binary} --network=host --overlay2=root:memory "$@"\n`,
    { mode: 0o700 },
  );
  await chmod(wrapper, 0o700);
  return wrapper;
}

/**
 * A user namespace per pod needs a range of subordinate ids for Podman's `containers` user
 * (`containers:2147483647:2147483648` in /etc/subuid and /etc/subgid).
 */
export async function checkUserNamespaceIds(read = (path: string) => readFile(path, 'utf8')): Promise<void> {
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const text = await read(file).catch(() => '');
    if (!/^containers:\d+:\d+$/m.test(text)) {
      throw new OciRuntimeError(
        `pods get a user namespace each, which needs ids for Podman's "containers" user: add "containers:2147483647:2147483648" to ${file} (scripts/setup-podman.sh does)`,
      );
    }
  }
}
