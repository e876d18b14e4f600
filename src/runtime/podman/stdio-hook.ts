import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The annotation that asks for the hook; set on every container of a pod with a user namespace. */
export const STDIO_HOOK_ANNOTATION = { 'codius.stdio': 'owned' } as const;
/** Hook directories Podman reads when not told otherwise; kept so an operator's own hooks still run. */
const DEFAULT_HOOK_DIRS = ['/usr/share/containers/oci/hooks.d', '/etc/containers/oci/hooks.d'];

/**
 * An OCI prestart hook that gives a container's stdio pipes to the container's root. Podman's conmon
 * creates them as host root, so in a user namespace an app cannot reopen `/dev/stdout` or `/dev/stderr`
 * (EACCES): the official nginx image, whose logs are symlinks to them, would not start. The hook reads the
 * container's pid from the OCI state on stdin and chowns its fds 0–2 to the owner of that process.
 */
const HOOK_SCRIPT = `#!/bin/sh
# Written by codiusd: a container's stdio pipes belong to the container's root (see stdio-hook.ts).
state=$(cat)
pid=$(printf '%s' "$state" | sed -n 's/.*"pid": *\\([0-9][0-9]*\\).*/\\1/p')
[ -n "$pid" ] || exit 0
owner=$(stat -c '%u:%g' "/proc/$pid") || exit 0
for fd in 0 1 2; do
  [ -e "/proc/$pid/fd/$fd" ] && chown "$owner" "/proc/$pid/fd/$fd" 2>/dev/null
done
exit 0
`;

/**
 * Writes the hook under `root` and returns the hook directories for `podman --hooks-dir`: codiusd's own
 * and the default ones that exist.
 */
export async function installStdioHook(root: string): Promise<string[]> {
  const dir = join(root, 'hooks');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const script = join(dir, 'stdio-owner.sh');
  await writeFile(script, HOOK_SCRIPT, { mode: 0o700 });
  const [key, value] = Object.entries(STDIO_HOOK_ANNOTATION)[0] ?? ['', ''];
  const hook = {
    version: '1.0.0',
    hook: { path: script },
    when: { annotations: { [`^${key.replace(/\./g, '\\.')}$`]: `^${value}$` } },
    stages: ['prestart'],
  };
  await writeFile(join(dir, 'codiusd-stdio.json'), `${JSON.stringify(hook)}\n`, { mode: 0o600 });
  const defaults: string[] = [];
  for (const candidate of DEFAULT_HOOK_DIRS) {
    if (
      await access(candidate).then(
        () => true,
        () => false,
      )
    )
      defaults.push(candidate);
  }
  return [...defaults, dir];
}
