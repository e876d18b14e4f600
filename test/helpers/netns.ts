import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ip = (...args: string[]) => run('ip', args);
const LISTENER = fileURLToPath(new URL('../../../test/fixtures/netns-listener.mjs', import.meta.url));

/** A host of the test's own: a network namespace joined to this machine by a veth pair and a route. */
export interface TestHost {
  /** The namespace's name. */
  name: string;
  /** The address services in the namespace listen on (and are reached at). */
  address: string;
  /** This machine's own address on the veth pair (an address of the host, as pods see it). */
  hostSide: string;
  /** Runs a command inside the namespace; resolves with its stdout. */
  exec(command: string, args: string[]): Promise<string>;
  /** Starts TCP listeners (answering "hello") and UDP echoes in the namespace; resolves once they listen. */
  listen(tcpPorts: readonly number[], udpPorts: readonly number[]): Promise<void>;
}

/**
 * Creates a network namespace with a veth pair: `hostSide/30` here, `peer/30` there, and a service address
 * (a /32 on the namespace's loopback) routed to it. The /30 and the address are picked where this machine
 * has no address, route or resolver. Nothing it makes can send a packet off this machine: the namespace
 * has no other link, and the route covers only that address. Everything is removed at the end.
 */
export async function createTestHost(options: {
  /** Where to pick the veth pair's /30 from, as a CIDR such as 198.51.100.0/24. */
  linkRange: string;
  /** A CIDR to pick the namespace's service address from; the peer end of the link when omitted. */
  addressRange?: string;
  /** Routes to add inside the namespace via this machine (e.g. the pod subnet, to try reaching pods). */
  routesBack?: readonly string[];
}): Promise<TestHost> {
  const used = await addressesInUse();
  const link = pickFree(options.linkRange, 30, used);
  const service = options.addressRange === undefined ? undefined : pickFree(options.addressRange, 32, used);
  return create({ link, ...(service ? { address: service } : {}), routesBack: options.routesBack ?? [] });
}

/** Addresses and routed prefixes this machine uses now, and its resolvers: a test host must avoid them all. */
async function addressesInUse(): Promise<Array<{ network: number; prefix: number }>> {
  const { stdout: routes } = await run('ip', ['-j', '-4', 'route', 'show', 'table', 'all']);
  const { stdout: addresses } = await run('ip', ['-j', '-4', 'addr']);
  const { readFile } = await import('node:fs/promises');
  const resolvers = (await readFile('/etc/resolv.conf', 'utf8').catch(() => ''))
    .split('\n')
    .map((line) => /^nameserver\s+(\d+\.\d+\.\d+\.\d+)/.exec(line)?.[1])
    .filter((address): address is string => address !== undefined);
  const prefixes: Array<{ network: number; prefix: number }> = [];
  for (const route of JSON.parse(routes) as Array<{ dst?: string }>) {
    if (!route.dst || route.dst === 'default') continue;
    const [address = '', prefix = '32'] = route.dst.split('/');
    prefixes.push({ network: toNumber(address), prefix: Number(prefix) });
  }
  for (const link of JSON.parse(addresses) as Array<{
    addr_info?: Array<{ local: string; prefixlen: number }>;
  }>) {
    for (const info of link.addr_info ?? [])
      prefixes.push({ network: toNumber(info.local), prefix: info.prefixlen });
  }
  for (const resolver of resolvers) prefixes.push({ network: toNumber(resolver), prefix: 32 });
  return prefixes;
}

const toNumber = (address: string): number =>
  address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const toAddress = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

function overlaps(a: { network: number; prefix: number }, b: { network: number; prefix: number }): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  const size = 2 ** (32 - prefix);
  return Math.floor(a.network / size) === Math.floor(b.network / size);
}

/** A random block of size /`prefix` inside the CIDR `range` that overlaps nothing in use. */
function pickFree(range: string, prefix: number, used: Array<{ network: number; prefix: number }>): string {
  const [start = '', bits = '32'] = range.split('/');
  const base = toNumber(start);
  const rangePrefix = Number(bits);
  const blocks = 2 ** (prefix - rangePrefix);
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const candidate = { network: base + Math.floor(Math.random() * blocks) * 2 ** (32 - prefix), prefix };
    if (candidate.network === base) continue;
    if (!used.some((entry) => overlaps(entry, candidate))) {
      used.push(candidate);
      return toAddress(candidate.network);
    }
  }
  throw new Error(`no free /${prefix} in ${range} that this machine does not use`);
}

async function create(options: {
  link: string;
  address?: string;
  routesBack: readonly string[];
}): Promise<TestHost> {
  const tag = randomBytes(3).toString('hex');
  const name = `cdt-${tag}`;
  const outer = `cdo${tag}`;
  const inner = `cdi${tag}`;
  const base = options.link.split('.').map(Number);
  const at = (last: number): string => [...base.slice(0, 3), (base[3] ?? 0) + last].join('.');
  const hostSide = at(1);
  const peer = at(2);
  const address = options.address ?? peer;
  const children: ChildProcess[] = [];

  await ip('netns', 'add', name);
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    if (address !== peer) await ip('route', 'del', `${address}/32`).catch(() => undefined);
    await ip('netns', 'del', name).catch(() => undefined);
    await ip('link', 'del', outer).catch(() => undefined);
  });
  await ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
  await ip('link', 'set', inner, 'netns', name);
  await ip('addr', 'add', `${hostSide}/30`, 'dev', outer);
  await ip('link', 'set', outer, 'up');
  const inside = (...args: string[]) => ip('netns', 'exec', name, 'ip', ...args);
  await inside('addr', 'add', `${peer}/30`, 'dev', inner);
  await inside('link', 'set', inner, 'up');
  await inside('link', 'set', 'lo', 'up');
  if (address !== peer) {
    await inside('addr', 'add', `${address}/32`, 'dev', 'lo');
    await ip('route', 'add', `${address}/32`, 'via', peer, 'dev', outer);
  }
  for (const route of options.routesBack) await inside('route', 'add', route, 'via', hostSide);

  return {
    name,
    address,
    hostSide,
    async exec(command, args) {
      const { stdout } = await run('ip', ['netns', 'exec', name, command, ...args]);
      return stdout;
    },
    listen(tcpPorts, udpPorts) {
      const child = spawn(
        'ip',
        ['netns', 'exec', name, process.execPath, LISTENER, tcpPorts.join(','), udpPorts.join(','), address],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      children.push(child);
      return new Promise((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`listener in ${name} exited (${String(code)})`)));
      });
    },
  };
}
