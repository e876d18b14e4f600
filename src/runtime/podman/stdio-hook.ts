import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The annotation that asks for the hook; set on every container of a pod with a user namespace. */
export const STDIO_HOOK_ANNOTATION = { 'codius.stdio': 'owned' } as const;
/** Hook directories Podman reads when not told otherwise; kept so an operator's own hooks still run. */
const DEFAULT_HOOK_DIRS = ['/usr/share/containers/oci/hooks.d', '/etc/containers/oci/hooks.d'];
/** The hook's program, compiled beside this module. */
const HOOK_PROGRAM = fileURLToPath(new URL('./stdio-owner.js', import.meta.url));
/** A shell hook that earlier versions wrote; it followed links, so it must not stay behind. */
const RETIRED_SCRIPT = 'stdio-owner.sh';

/**
 * Writes the OCI hook that gives a user-namespaced container's stdio pipes to its root (see
 * stdio-owner.ts), run with this Node binary, and returns the hook directories for `podman --hooks-dir`:
 * codiusd's own and the default ones that exist. Podman's conmon creates the pipes as host root, so in a
 * user namespace an app could not reopen `/dev/stdout` or `/dev/stderr` (EACCES).
 */
export async function installStdioHook(root: string): Promise<string[]> {
  const dir = join(root, 'hooks');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await rm(join(dir, RETIRED_SCRIPT), { force: true });
  const [key, value] = Object.entries(STDIO_HOOK_ANNOTATION)[0] ?? ['', ''];
  const hook = {
    version: '1.0.0',
    hook: { path: process.execPath, args: [process.execPath, HOOK_PROGRAM], timeout: 10 },
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
