import { execFile } from 'node:child_process';
import { copyFile, cp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { copyWithLibraries } from '../../test/helpers/rootfs.js';

const run = promisify(execFile);

/** Runs the podman CLI and returns its trimmed stdout. */
export const podman = async (...args: string[]): Promise<string> => (await run('podman', args)).stdout.trim();

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

/** The value below which `fraction` of the values lie (nearest rank), e.g. 0.9 for p90. */
export const percentile = (values: number[], fraction: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)] ?? NaN;
};

function answers200(url: string, headers: Record<string, string>): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 500, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Polls `url` (every 5 ms) until it answers 200; throws after 15 s. */
export async function untilServing(url: string, headers: Record<string, string> = {}): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await answers200(url, headers))) {
    if (Date.now() > deadline) throw new Error(`${url} never answered 200`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Starts with the podman CLI the pod codiusd would run for a one-container manifest (own network,
 * limits, init), the baseline of the pod benches, and returns its IP once it is running.
 */
export async function startPodWithCli(options: {
  name: string;
  network: string;
  image: string;
  labels?: Record<string, string>;
}): Promise<string> {
  const { name, network, image } = options;
  const labels = Object.entries(options.labels ?? {}).flatMap(([key, value]) => [
    '--label',
    `${key}=${value}`,
  ]);
  await podman(
    'pod',
    'create',
    '--name',
    name,
    '--network',
    network,
    '--memory',
    '512m',
    '--cpus',
    '1',
    ...labels,
  );
  await podman('create', '--pod', name, '--name', `${name}-web`, '--init', '--stop-timeout', '2', image);
  await podman('pod', 'start', name);
  const infra = await podman('pod', 'inspect', name, '--format', '{{.InfraContainerID}}');
  return podman('inspect', infra, '--format', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`);
}

/** Imports a busybox image that serves "ok" with httpd on port 3000 into local storage as `image`. */
export async function importWebImage(dir: string, image: string): Promise<void> {
  const rootfs = join(dir, 'rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await mkdir(join(rootfs, 'www'), { recursive: true });
  await copyFile('/usr/bin/busybox', join(rootfs, 'bin', 'busybox'));
  await symlink('busybox', join(rootfs, 'bin', 'sh'));
  await run('sh', ['-c', `echo ok > ${rootfs}/www/index.html && tar -C ${rootfs} -cf ${dir}/rootfs.tar .`]);
  const cmd = 'CMD ["/bin/busybox","httpd","-f","-p","3000","-h","/www"]';
  await podman('import', '--quiet', '--change', cmd, `${dir}/rootfs.tar`, image);
}

/**
 * Imports an image of this machine's nginx answering every GET on port 3000 with a 19-byte body, one
 * worker: a pod fast enough that what is measured in front of it is the proxy. Returns the image's
 * reference by digest, the only kind a manifest may name.
 */
export async function importNginxImage(dir: string, image: string): Promise<string> {
  const rootfs = join(dir, 'nginx-rootfs');
  await copyWithLibraries(rootfs, '/usr/sbin/nginx');
  await mkdir(join(rootfs, 'etc', 'nginx'), { recursive: true });
  await mkdir(join(rootfs, 'tmp'), { recursive: true });
  // As root, nginx looks up the user "nobody" even when told nothing about users.
  await writeFile(
    join(rootfs, 'etc', 'passwd'),
    'root:x:0:0::/:/bin/false\nnobody:x:65534:65534::/:/bin/false\n',
  );
  await writeFile(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  await writeFile(
    join(rootfs, 'etc', 'nginx', 'pod.conf'),
    [
      'daemon off; master_process off; worker_processes 1; pid /tmp/nginx.pid; error_log stderr;',
      'events { worker_connections 4096; }',
      'http { access_log off; keepalive_requests 1000000;',
      '  client_body_temp_path /tmp/b; proxy_temp_path /tmp/p; fastcgi_temp_path /tmp/f;',
      '  uwsgi_temp_path /tmp/u; scgi_temp_path /tmp/s;',
      '  server { listen 3000; location / { default_type text/plain; return 200 "hello from the pod\\n"; } } }',
      '',
    ].join('\n'),
  );
  await run('tar', ['-C', rootfs, '-cf', join(dir, 'nginx-rootfs.tar'), '.']);
  const cmd = 'CMD ["/usr/sbin/nginx","-e","stderr","-c","/etc/nginx/pod.conf"]';
  await podman('import', '--quiet', '--change', cmd, join(dir, 'nginx-rootfs.tar'), image);
  const digest = await podman('image', 'inspect', '--format', '{{.Digest}}', image);
  return `${image.replace(/:[^:/]+$/, '')}@${digest}`;
}

/**
 * Imports an image holding this machine's node, `appDir` at /app and the given packages of this
 * checkout's node_modules, running /app/<entry>.
 */
export async function importNodeAppImage(options: {
  dir: string;
  image: string;
  appDir: string;
  entry: string;
  modules: readonly string[];
  nodeModules: string;
}): Promise<void> {
  const rootfs = join(options.dir, 'node-rootfs');
  await copyWithLibraries(rootfs, process.execPath);
  await mkdir(join(rootfs, 'tmp'), { recursive: true });
  await cp(options.appDir, join(rootfs, 'app'), { recursive: true });
  for (const name of options.modules) {
    await cp(join(options.nodeModules, name), join(rootfs, 'app', 'node_modules', name), { recursive: true });
  }
  const tar = join(options.dir, 'node-rootfs.tar');
  await run('tar', ['-C', rootfs, '-cf', tar, '.']);
  const cmd = `CMD ["${process.execPath}","/app/${options.entry}"]`;
  await podman('import', '--quiet', '--change', cmd, tar, options.image);
}
