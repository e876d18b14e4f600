import { spawn } from 'node:child_process';

/** The nft command line tool, the one maintained interface to nftables. */
export interface Nft {
  /** Runs an nft script (`nft -f -`): all of it applies in one transaction, or none of it. */
  apply(script: string): Promise<void>;
  /** The table as `nft list table` prints it, or null when there is no such table. */
  listTable(family: string, name: string): Promise<string | null>;
}

/** nft cannot be used: missing, not permitted, or refusing the script. The message says which and what to do. */
export class NftError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NftError';
  }
}

const TIMEOUT_MS = 10_000;

function run(
  binary: string,
  args: string[],
  input?: string,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    // nft may exit before reading all of a script it refuses: the closed pipe is not an error of its own.
    child.stdin?.on('error', () => undefined);
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        error.code === 'ENOENT'
          ? new NftError(
              `${binary} is not installed: install the nftables package (scripts/setup-podman.sh does)`,
              {
                cause: error,
              },
            )
          : error,
      );
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
    child.stdin?.end(input);
  });
}

function explain(what: string, err: string): NftError {
  const text = err.trim().split('\n')[0] ?? '';
  if (/Operation not permitted/i.test(err)) {
    return new NftError(`${what}: not permitted (codiusd must run as root, or with CAP_NET_ADMIN): ${text}`);
  }
  return new NftError(`${what}: ${text || 'nft failed'}`);
}

export function createNft(binary = 'nft'): Nft {
  return {
    async apply(script) {
      const { code, err } = await run(binary, ['-f', '-'], script);
      if (code !== 0) throw explain('could not apply the pod firewall', err);
    },
    async listTable(family, name) {
      const { code, out, err } = await run(binary, ['list', 'table', family, name]);
      if (code === 0) return out;
      if (/No such file or directory/.test(err)) return null;
      throw explain(`could not read table ${family} ${name}`, err);
    },
  };
}
