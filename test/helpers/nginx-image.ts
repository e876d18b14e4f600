import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PodmanFixture } from './podman.js';
import { copyWithLibraries } from './rootfs.js';
import { tempDir } from './tmp.js';

/**
 * An image laid out like the official nginx image, from this machine's nginx: master as root and workers
 * as user nginx (uid 101), pid in /var/run, temp files under /var/cache/nginx, logs as symlinks to the
 * container's stdout and stderr, the default site in /usr/share/nginx/html on port 3000.
 */
export async function officialLikeNginxImage(fixture: PodmanFixture): Promise<string> {
  const rootfs = join(await tempDir(), 'nginx');
  await copyWithLibraries(rootfs, '/usr/sbin/nginx');
  // Name lookups of "nginx" and "root" go through NSS.
  for (const library of ['/lib/x86_64-linux-gnu/libnss_files.so.2']) {
    await mkdir(join(rootfs, '/lib/x86_64-linux-gnu'), { recursive: true });
    await copyFile(library, join(rootfs, library)).catch(() => undefined);
  }
  for (const dir of [
    'etc/nginx/conf.d',
    'usr/share/nginx/html',
    'var/cache/nginx',
    'var/log/nginx',
    'run',
    'tmp',
  ]) {
    await mkdir(join(rootfs, dir), { recursive: true });
  }
  await symlink('/run', join(rootfs, 'var/run'));
  await symlink('/dev/stdout', join(rootfs, 'var/log/nginx/access.log'));
  await symlink('/dev/stderr', join(rootfs, 'var/log/nginx/error.log'));
  await writeFile(
    join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/false\nnginx:x:101:101:nginx:/nonexistent:/bin/false\n',
  );
  await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nnginx:x:101:\n');
  await writeFile(join(rootfs, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\n');
  await copyFile('/etc/nginx/mime.types', join(rootfs, 'etc/nginx/mime.types'));
  await writeFile(
    join(rootfs, 'etc/nginx/nginx.conf'),
    [
      'user nginx;',
      'worker_processes auto;',
      'error_log /var/log/nginx/error.log notice;',
      'pid /var/run/nginx.pid;',
      'events { worker_connections 1024; }',
      'http {',
      '  include /etc/nginx/mime.types;',
      '  default_type application/octet-stream;',
      '  access_log /var/log/nginx/access.log;',
      '  client_body_temp_path /var/cache/nginx/client_temp;',
      '  proxy_temp_path /var/cache/nginx/proxy_temp;',
      '  fastcgi_temp_path /var/cache/nginx/fastcgi_temp;',
      '  uwsgi_temp_path /var/cache/nginx/uwsgi_temp;',
      '  scgi_temp_path /var/cache/nginx/scgi_temp;',
      '  include /etc/nginx/conf.d/*.conf;',
      '}',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(rootfs, 'etc/nginx/conf.d/default.conf'),
    'server { listen 3000; location / { root /usr/share/nginx/html; index index.html; } }\n',
  );
  await writeFile(join(rootfs, 'usr/share/nginx/html/index.html'), 'Welcome to nginx in a Codius pod\n');
  return fixture.imageFromRootfs(rootfs, 'CMD ["/usr/sbin/nginx", "-g", "daemon off;"]');
}
