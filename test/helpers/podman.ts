import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, readFile, symlink, writeFile, copyFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import { promisify } from 'node:util';
import type { Logger } from '../../src/logger.js';
import type { PodRuntime } from '../../src/runtime/driver.js';
import { firewallTableName } from '../../src/firewall/ruleset.js';
import { describePodNetwork } from '../../src/runtime/pod-network.js';
import { hardeningFor } from '../../src/runtime/podman/oci-runtime.js';
import { createPodmanDriver, LABEL_HOST, LABEL_MANIFEST_HASH } from '../../src/runtime/podman/driver.js';
import { startPodmanService } from '../../src/runtime/podman/service.js';
import { installStdioHook } from '../../src/runtime/podman/stdio-hook.js';
import { createUnixHttpClient, type UnixHttpClient } from '../../src/runtime/unix-http.js';
import { freePort, stopRunningDaemons } from './daemon.js';
import { copyWithLibraries } from './rootfs.js';
import { testBtpCredentials } from './moneyd.js';
import { SELF_TEST_IMAGE_NAME } from '../../src/self-test/image.js';
import { tempDir } from './tmp.js';

const run = promisify(execFile);

/** Runs the podman CLI (same storage as the API service) and returns stdout. */
export async function podman(args: string[]): Promise<string> {
  const { stdout } = await run('podman', args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The address a manifest's pod has on `network`, as Podman reports it for the pod's infra container. */
export async function podAddress(hash: string, network: string): Promise<string> {
  const infra = (
    JSON.parse(await podman(['pod', 'inspect', `codius-${hash}`])) as { InfraContainerID: string }
  ).InfraContainerID;
  const format = `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`;
  return (await podman(['inspect', '--format', format, infra])).trim();
}
const WEB_CMD = 'CMD ["/bin/busybox","httpd","-f","-p","3000","-h","/www"]';

/** GET over plain HTTP with a short timeout; resolves status and body, or null when unreachable. */
export function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

/** Polls until the pod answers HTTP 200 on `url`, or fails after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await httpGet(url, 1000);
    if (response?.status === 200) return response.body;
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * A busybox image: `httpd` serving /www on port 3000 (CMD), with /www/cgi-bin/env printing the
 * container's environment, so tests can see what codiusd put into a pod.
 */
async function buildRootfsTar(dir: string): Promise<string> {
  const rootfs = join(dir, 'rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await mkdir(join(rootfs, 'www', 'cgi-bin'), { recursive: true });
  await mkdir(join(rootfs, 'tmp'), { recursive: true });
  await copyFile('/usr/bin/busybox', join(rootfs, 'bin', 'busybox'));
  for (const applet of ['sh', 'httpd', 'echo', 'env', 'sleep', 'cat', 'printf']) {
    await symlink('busybox', join(rootfs, 'bin', applet));
  }
  await writeFile(join(rootfs, 'www', 'index.html'), 'hello from a codius test pod\n');
  const cgi = join(rootfs, 'www', 'cgi-bin', 'env');
  await writeFile(cgi, '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\n"\nenv\n');
  await chmod(cgi, 0o755);
  const tar = join(dir, 'rootfs.tar');
  await run('tar', ['-C', rootfs, '-cf', tar, '.']);
  return tar;
}

export interface PodmanFixture {
  /** A digest-pinned reference in the loopback registry: busybox httpd on :3000. */
  webImage: string;
  /**
   * An image running `node /app/<entry>` (Node and its libraries copied from this machine) with the files
   * of `appDir` and the named packages from our node_modules, pushed to the registry; its digest reference.
   */
  nodeAppImage(appDir: string, entry: string, modules: readonly string[]): Promise<string>;
  /** An image of the files under `rootfs` with `cmd` (a CMD line), pushed to the registry; its digest reference. */
  imageFromRootfs(rootfs: string, cmd: string): Promise<string>;
  /** Pushes the web image under a new repository name and returns its digest reference (never pulled yet). */
  freshImage(): Promise<string>;
  /** A digest reference in the loopback registry that does not exist. */
  missingImage: string;
  /** A digest reference that cannot be pulled until publish() copies the image to it. */
  lateImage(): Promise<{ reference: string; publish(): Promise<void> }>;
  socketPath: string;
  client: UnixHttpClient;
  /** The loopback registry (`127.0.0.1:<port>`): a production host must be told it may pull from it. */
  registry: string;
  network: string;
  subnet: string;
  /** Unique per call: a host id for one test's pods. */
  newHostId(): string;
  /** Cleans up pods of a host id made elsewhere (a daemon's) at the end of the file. */
  adoptHostId(hostId: string): void;
  driver(hostId: string, logger: Logger): PodRuntime;
  /** Deletes every pod carrying the host id, through the CLI (behind codiusd's back). */
  removePodsOf(hostId: string): Promise<void>;
  /** Deletes the pod of one manifest hash, through the CLI (behind codiusd's back). */
  removePod(hash: string): Promise<void>;
  /**
   * The environment of a production codiusd on this fixture's Podman and network, paying through the
   * test moneyd: no peers, no self test. Tests add or override what they vary.
   */
  daemonEnv(root: string, port: number): Record<string, string>;
  /** The variables that put a codiusd on this fixture's Podman service, network and registry. */
  podmanEnv: Record<string, string>;
}

async function startRegistry(dir: string): Promise<string> {
  const port = await freePort();
  const config = join(dir, 'registry.yml');
  await writeFile(
    config,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'registry')}\n` +
      `http:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  after(() => {
    child.kill('SIGKILL');
  });
  const address = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i += 1) {
    if ((await httpGet(`http://${address}/v2/`, 500))?.status === 200) return address;
    await sleep(50);
  }
  throw new Error('docker-registry did not start');
}

/**
 * Real Podman for a test file: a loopback registry holding a busybox image, a Podman API service started
 * by codiusd's own service code (with a registries.conf that trusts only that registry), and a bridge
 * network of the test's own. Everything is removed when the file ends.
 */
export async function setupPodman(): Promise<PodmanFixture> {
  const dir = await tempDir('codiusd-podman-');
  const registry = await startRegistry(dir);
  const registriesConf = join(dir, 'registries.conf');
  await writeFile(
    registriesConf,
    `unqualified-search-registries = []\n[[registry]]\nlocation = "${registry}"\ninsecure = true\n`,
  );
  // The API service and the CLI read this instead of /etc/containers/registries.conf.
  process.env.CONTAINERS_REGISTRIES_CONF = registriesConf;

  const tag = randomBytes(4).toString('hex');
  const localImage = `localhost/codius-test/web:${tag}`;
  const tar = await buildRootfsTar(dir);
  await podman(['import', '--quiet', '--change', WEB_CMD, tar, localImage]);
  const pushed: string[] = [];
  let pushes = 0;
  async function push(repository: string, source = localImage): Promise<string> {
    const digestFile = join(dir, `digest-${(pushes += 1)}`);
    const target = `${registry}/${repository}:${tag}`;
    await podman(['push', '--quiet', '--tls-verify=false', '--digestfile', digestFile, source, target]);
    const reference = `${registry}/${repository}@${(await readFile(digestFile, 'utf8')).trim()}`;
    pushed.push(reference);
    return reference;
  }
  const webImage = await push('codius-test/web');

  const { logger: quiet } = await import('./logs.js').then((m) => m.capturingLogger());
  // As an operator's service for codiusd would run: with codiusd's stdio hook for user-namespaced pods.
  const service = await startPodmanService({
    root: dir,
    logger: quiet,
    hookDirs: await installStdioHook(dir),
  });
  const client = createUnixHttpClient(service.socketPath);

  const network = `ct${randomBytes(3).toString('hex')}`;
  const subnet = `10.89.${200 + Math.floor(Math.random() * 40)}.0/24`;
  const hostIds: string[] = [];
  const podsOf = async (hostId: string): Promise<string[]> =>
    (await podman(['pod', 'ps', '-q', '--filter', `label=${LABEL_HOST}=${hostId}`]))
      .split('\n')
      .filter(Boolean);
  /** Removes the pods `list` names until it names none. */
  const removePodsListed = async (list: () => Promise<string[]>): Promise<void> => {
    // Podman 4.3 may race its own unmount of /dev/shm of a pod with a user namespace and fail after it
    // removed the containers, leaving an empty pod: list again and retry until none is left.
    for (let attempt = 1; ; attempt += 1) {
      const ids = await list();
      if (ids.length === 0) return;
      try {
        await podman(['pod', 'rm', '--force', ...ids]);
      } catch (error) {
        if (attempt >= 10) throw error;
        await sleep(Math.min(1_000, 200 * attempt));
      }
    }
  };
  const removePodsOf = (hostId: string): Promise<void> => removePodsListed(() => podsOf(hostId));
  const removePod = (hash: string): Promise<void> =>
    removePodsListed(async () =>
      (await podman(['pod', 'ps', '-q', '--filter', `label=${LABEL_MANIFEST_HASH}=${hash}`]))
        .split('\n')
        .filter(Boolean),
    );
  // A daemon of the file stopped after this cleanup may have applied its firewall again in between: the
  // table goes last of all, as the test process exits.
  process.once('exit', () => {
    try {
      execFileSync('nft', ['delete', 'table', 'inet', firewallTableName(network)], { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
  });
  // One cleanup, in dependency order: pods use the network and the images. The API service stops first:
  // a daemon or app of the test file whose own cleanup runs later can then create no pod behind it.
  after(async () => {
    await stopRunningDaemons();
    client.close();
    await service.stop();
    for (const hostId of hostIds) {
      await removePodsOf(hostId).catch((error: unknown) => {
        process.stderr.write(`could not remove the pods of ${hostId}: ${String(error)}\n`);
      });
    }
    await podman(['network', 'rm', '--force', network]).catch(() => undefined);
    // netavark leaves the bridge when the network goes while it is up: the link is the test's to remove.
    await run('ip', ['link', 'delete', `${network}0`]).catch(() => undefined);
    // The pod firewall a daemon of this file applied to the network stays after the daemon: remove it.
    await run('nft', ['delete', 'table', 'inet', firewallTableName(network)]).catch(() => undefined);
    await podman(['rmi', '--force', '--ignore', localImage, ...pushed]).catch(() => undefined);
  });

  async function nodeAppImage(appDir: string, entry: string, modules: readonly string[]): Promise<string> {
    const rootfs = join(dir, `node-app-${(pushes += 1)}`);
    const node = process.execPath;
    await copyWithLibraries(rootfs, node);
    await mkdir(join(rootfs, 'tmp'), { recursive: true });
    // A file under a directory pods may write: whatever makes it writable must keep the image's files.
    await mkdir(join(rootfs, 'var/cache/codius-test'), { recursive: true });
    await writeFile(join(rootfs, 'var/cache/codius-test/shipped'), 'from the image\n');
    await cp(appDir, join(rootfs, 'app'), { recursive: true });
    const nodeModules = fileURLToPath(new URL('../../../node_modules/', import.meta.url));
    for (const name of modules) {
      await cp(join(nodeModules, name), join(rootfs, 'app', 'node_modules', name), { recursive: true });
    }
    const tar = join(dir, `node-app-${pushes}.tar`);
    await run('tar', ['-C', rootfs, '-cf', tar, '.']);
    const source = `localhost/codius-test/node-app:${tag}-${pushes}`;
    await podman(['import', '--quiet', '--change', `CMD ["${node}","/app/${entry}"]`, tar, source]);
    const reference = await push(`codius-test/node-app-${pushes}`, source);
    await podman(['rmi', '--force', source]);
    return reference;
  }

  async function imageFromRootfs(rootfs: string, cmd: string): Promise<string> {
    const tar = join(dir, `rootfs-${(pushes += 1)}.tar`);
    await run('tar', ['-C', rootfs, '-cf', tar, '.']);
    const source = `localhost/codius-test/rootfs:${tag}-${pushes}`;
    await podman(['import', '--quiet', '--change', cmd, tar, source]);
    const reference = await push(`codius-test/rootfs-${pushes}`, source);
    await podman(['rmi', '--force', source]);
    return reference;
  }

  async function freshImage(): Promise<string> {
    // A label makes a new config, so a new digest that local storage does not know once the source is gone.
    const source = `localhost/codius-test/fresh:${tag}-${pushes}`;
    const label = `LABEL codius.test.fresh=${randomBytes(8).toString('hex')}`;
    await podman(['import', '--quiet', '--change', WEB_CMD, '--change', label, tar, source]);
    const reference = await push(`codius-test/fresh-${pushes}`, source);
    await podman(['rmi', '--force', source]);
    return reference;
  }

  const podmanEnv = {
    CODIUS_PODMAN_SOCKET: service.socketPath,
    CODIUS_PODMAN_NETWORK: network,
    CODIUS_PODMAN_SUBNET: subnet,
    CODIUS_ALLOWED_REGISTRIES: registry,
  };
  return {
    webImage,
    nodeAppImage,
    imageFromRootfs,
    freshImage,
    missingImage: `${registry}/codius-test/missing@sha256:${'0'.repeat(64)}`,
    async lateImage() {
      const [repository, digest] = (await freshImage()).slice(registry.length + 1).split('@');
      if (!repository || !digest) throw new Error('unexpected image reference');
      const target = `${repository}-late`;
      const reference = `${registry}/${target}@${digest}`;
      pushed.push(reference);
      return {
        reference,
        // Registry API: mount the blobs from the first repository, then put the same manifest bytes, so
        // the digest is unchanged.
        async publish() {
          const base = `http://${registry}/v2`;
          const manifestResponse = await fetch(`${base}/${repository}/manifests/${digest}`, {
            headers: {
              Accept:
                'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
            },
          });
          const bytes = Buffer.from(await manifestResponse.arrayBuffer());
          const type =
            manifestResponse.headers.get('content-type') ?? 'application/vnd.oci.image.manifest.v1+json';
          const manifest = JSON.parse(bytes.toString('utf8')) as {
            config: { digest: string };
            layers: Array<{ digest: string }>;
          };
          for (const blob of [manifest.config, ...manifest.layers]) {
            const mounted = await fetch(
              `${base}/${target}/blobs/uploads/?mount=${blob.digest}&from=${repository}`,
              { method: 'POST' },
            );
            if (mounted.status !== 201) throw new Error(`blob mount answered ${mounted.status}`);
          }
          const put = await fetch(`${base}/${target}/manifests/${digest}`, {
            method: 'PUT',
            headers: { 'Content-Type': type },
            body: bytes,
          });
          if (put.status !== 201) throw new Error(`manifest put answered ${put.status}`);
        },
      };
    },
    socketPath: service.socketPath,
    client,
    registry,
    network,
    subnet,
    newHostId() {
      const id = `test-${randomBytes(6).toString('hex')}`;
      hostIds.push(id);
      return id;
    },
    adoptHostId(hostId) {
      hostIds.push(hostId);
    },
    driver(hostId, logger) {
      return createPodmanDriver({
        client,
        network: describePodNetwork(network, subnet),
        hostId,
        pullTimeoutMs: 30_000,
        hardening: hardeningFor('runc'),
        logger,
      });
    },
    removePodsOf,
    removePod,
    daemonEnv: (root, port) => ({
      CODIUS_PUBLIC_URI: 'https://codius.example.com',
      CODIUS_ROOT: root,
      CODIUS_PORT: String(port),
      CODIUS_BOOTSTRAP_PEERS: '[]',
      CODIUS_SELF_TEST: 'false',
      ...podmanEnv,
      ILP_CREDENTIALS: JSON.stringify(testBtpCredentials()),
    }),
    podmanEnv,
  };
}

/**
 * Removes the self test's images a test file made codiusd import (a real host keeps its one); registered
 * after the Podman fixture, so it runs once the fixture has removed the pods using them.
 */
export function removeSelfTestImagesAfter(): void {
  after(async () => {
    const tags = (await podman(['images', '--format', '{{.Repository}}:{{.Tag}}', SELF_TEST_IMAGE_NAME]))
      .split('\n')
      .filter(Boolean);
    if (tags.length > 0) await podman(['rmi', '--force', ...tags]);
  });
}
