#!/usr/bin/env bash
# Builds the example pod's image into this machine's Podman storage, from the static busybox that
# scripts/install-deps.sh installs (no registry and no internet needed), and writes codius.json next to
# this script with the image pinned by digest, as the Codius CLI wants it. Run as root on the host.
# CODIUS_HELLO_IMAGE names the image (default localhost/codius-hello:latest).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${CODIUS_HELLO_IMAGE:-localhost/codius-hello:latest}

busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  echo "build-image: needs a static busybox on PATH (apt-get install busybox-static)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs/bin"
cp "$busybox" "$work/rootfs/bin/busybox"
for applet in sh httpd mkdir; do ln -s busybox "$work/rootfs/bin/$applet"; done
tar -C "$work/rootfs" -cf "$work/rootfs.tar" .

# The page is written at start, from the GREETING variable the manifest gives the container. A pod's root
# filesystem is read-only; /tmp (like /run, /var/tmp, /var/cache and /var/log) is writable memory.
cmd='CMD ["/bin/sh", "-c", "mkdir -p /tmp/www && echo \"Hello from a Codius pod: $GREETING\" > /tmp/www/index.html && exec httpd -f -p 3000 -h /tmp/www"]'
podman import --quiet --change "$cmd" "$work/rootfs.tar" "$image" >/dev/null
reference=$(podman image inspect --format '{{index .RepoDigests 0}}' "$image")

cat >"$here/codius.json" <<JSON
{
  "manifest": {
    "name": "codius-hello",
    "version": "1.0.0",
    "port": "3000",
    "containers": [
      {
        "id": "web",
        "image": "$reference",
        "environment": { "GREETING": "\$GREETING" }
      }
    ]
  }
}
JSON
echo "build-image: $image is $reference; wrote $here/codius.json"
