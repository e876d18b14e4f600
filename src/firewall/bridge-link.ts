import { execFile } from 'node:child_process';

/** The pods' bridge as a network link: taken down, no packet reaches or leaves any pod on it. */
export interface BridgeLink {
  /** Sets the link up or down; false when there is no such link (no pod runs, so nothing to cut). */
  set(bridge: string, up: boolean): Promise<boolean>;
  /** Whether the link exists and is administratively down. */
  isDown(bridge: string): Promise<boolean>;
}

function ip(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error('ip is not installed: install the iproute2 package'));
        return;
      }
      resolve({ ok: !error, stdout, stderr });
    });
  });
}

export function createBridgeLink(): BridgeLink {
  return {
    async set(bridge, up) {
      const result = await ip(['link', 'set', 'dev', bridge, up ? 'up' : 'down']);
      if (result.ok) return true;
      if (/Cannot find device|does not exist/i.test(result.stderr)) return false;
      throw new Error(`ip link set ${bridge} ${up ? 'up' : 'down'}: ${result.stderr.trim()}`);
    },
    async isDown(bridge) {
      const result = await ip(['-o', 'link', 'show', 'dev', bridge]);
      const flags = result.ok ? (/<([^>]*)>/.exec(result.stdout)?.[1]?.split(',') ?? null) : null;
      return flags !== null && !flags.includes('UP');
    },
  };
}
