import { join } from 'node:path';
import { ADMIN_TOKEN_FILE } from '../admin/admin-token.js';
import { deviceRepair } from '../host/device-nodes.js';
import { SECRET_FILE } from '../secret.js';
import { STORE_FILE } from '../store/store.js';
import { fail, GIB, pass, warn, type Check } from './check.js';

/** The machine and codiusd's own files. */
export const HOST_CHECKS: readonly Check[] = [
  {
    id: 'data-directory',
    title: 'Data directory',
    async run(config, probes) {
      const info = await probes.stat(config.root);
      if (!info)
        return warn(`${config.root} does not exist yet`, 'codiusd creates it (mode 0700) at first start');
      if (!info.isDirectory)
        return fail(`${config.root} is not a directory`, 'point CODIUS_ROOT at a directory');
      if (!(await probes.writable(config.root)))
        return fail(`${config.root} is not writable`, `chown root ${config.root}`);
      if ((info.mode & 0o077) !== 0) {
        return warn(
          `${config.root} has mode ${info.mode.toString(8)}; it holds the host secret`,
          `chmod 0700 ${config.root}`,
        );
      }
      return pass(`${config.root}, mode 700`);
    },
  },
  {
    id: 'secret',
    title: 'Host secret',
    async run(config, probes) {
      const path = join(config.root, SECRET_FILE);
      const info = await probes.stat(path);
      if (!info)
        return warn(
          `${path} does not exist yet`,
          "codiusd creates it at first start; back it up then (pods' secrets derive from it)",
        );
      const text = (await probes.readStart(path, 128))?.toString('utf8').trim() ?? '';
      const bytes = Buffer.from(text, 'base64');
      if (bytes.length !== 32 || bytes.toString('base64') !== text) {
        return fail(
          `${path} is not 32 bytes of base64`,
          "restore it from a backup; a new one changes every pod's secrets",
        );
      }
      if ((info.mode & 0o077) !== 0)
        return fail(`${path} has mode ${info.mode.toString(8)}`, `chmod 0600 ${path}`);
      return pass(`${path}, mode 600`);
    },
  },
  {
    id: 'store',
    title: 'Store',
    async run(config, probes) {
      if (config.inMemoryStore)
        return warn(
          'in memory (CODIUS_MEMDOWN_PERSIST=true): lost on every exit',
          'unset CODIUS_MEMDOWN_PERSIST on a real host',
        );
      const path = join(config.root, STORE_FILE);
      const head = await probes.readStart(path, 16);
      if (head === null) return warn(`${path} does not exist yet`, 'codiusd creates it at first start');
      if (head.toString('latin1') !== 'SQLite format 3\0')
        return fail(`${path} is not a sqlite database`, 'restore it from a backup');
      return pass(`${path} (sqlite)`);
    },
  },
  {
    id: 'devices',
    title: 'Device nodes',
    async run(_config, probes) {
      const problems = await probes.devices();
      if (problems.length === 0)
        return pass('/dev/null, zero, random, urandom, tty, full: root-owned, mode 666');
      return fail(
        `${problems.map((p) => `${p.path} (${p.found})`).join(', ')}: codiusd runs no pod until they are restored`,
        deviceRepair(problems),
      );
    },
  },
];

/** Exposure and headroom. */
export const CAPACITY_CHECKS: readonly Check[] = [
  {
    id: 'admin',
    title: 'Admin exposure',
    run(config) {
      const { admin } = config;
      if (!admin.enabled) return Promise.resolve(pass('admin API off'));
      if (admin.host === '0.0.0.0' || admin.host === '::') {
        return Promise.resolve(
          fail(
            `on every interface (${admin.host}:${admin.port})`,
            'bind CODIUS_ADMIN_BIND_IP to 127.0.0.1 (or one private address) and reach it over SSH',
          ),
        );
      }
      const token =
        admin.token === null
          ? `its token in ${join(config.root, ADMIN_TOKEN_FILE)}`
          : 'its token in CODIUS_ADMIN_TOKEN';
      const loopback = admin.host === '::1' || admin.host.startsWith('127.');
      if (loopback) return Promise.resolve(pass(`on ${admin.host}:${admin.port} only, ${token}`));
      return Promise.resolve(
        warn(
          `on ${admin.host}:${admin.port}, ${token}`,
          'keep it off the internet: firewall the port or bind 127.0.0.1 and use an SSH tunnel',
        ),
      );
    },
  },
  {
    id: 'disk',
    title: 'Disk headroom',
    async run(config, probes) {
      const free = await probes.freeBytes(config.root).then((bytes) => bytes ?? probes.freeBytes('/'));
      if (free === null) return warn('free space unknown', `check with df -h ${config.root}`);
      const text = `${(free / GIB).toFixed(1)} GiB free for ${config.root} and images`;
      if (free < 1 * GIB) return fail(text, 'free disk space: podman image prune, or a bigger disk');
      if (free < 5 * GIB) return warn(text, 'pods pull images; keep 5 GiB or more free');
      return pass(text);
    },
  },
  {
    id: 'memory',
    title: 'Memory headroom',
    run(config, probes) {
      const { total, free } = probes.memory();
      const forPods = (total * config.maxMemoryFraction) / GIB;
      const text = `${(total / GIB).toFixed(1)} GiB, ${(free / GIB).toFixed(1)} GiB free, ${forPods.toFixed(1)} GiB for pods`;
      if (forPods < 0.5)
        return Promise.resolve(
          fail(text, 'one pod reserves 512 MiB: more memory or a higher CODIUS_MAX_MEMORY_FRACTION'),
        );
      if (free < 0.25 * GIB) return Promise.resolve(warn(text, 'little memory is free right now'));
      return Promise.resolve(pass(text));
    },
  },
];
