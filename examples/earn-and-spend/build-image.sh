#!/usr/bin/env bash
# Builds the earn-and-spend pod's image into this machine's Podman storage from this machine's node and
# the app's four npm packages (from npm's cache when the repository's own `npm ci` already fetched them),
# and writes codius.json (image pinned by digest) and codiusvars.json (a fresh random PAY_TOKEN, the key to
# the pod's POST /pay) next to this script. Run as root on the host.
# CODIUS_EARN_IMAGE names the image (default localhost/codius-earn-and-spend:latest); CODIUS_EARN_OUT is
# where the two files go (default: next to this script), CODIUS_EARN_NAME the manifest's name, and
# CODIUS_EARN_ENVIRONMENT more entries of the container's environment ("NAME": "value", …).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
image=${CODIUS_EARN_IMAGE:-localhost/codius-earn-and-spend:latest}
out=${CODIUS_EARN_OUT:-$here}
name=${CODIUS_EARN_NAME:-codius-earn-and-spend}
extra=${CODIUS_EARN_ENVIRONMENT:-}
node=$(readlink -f "$(command -v node)")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs/app" "$rootfs/tmp"
cp "$here/app.mjs" "$here/stream.mjs" "$here/package.json" "$rootfs/app/"
(cd "$rootfs/app" && npm install --prefer-offline --omit=dev --no-audit --no-fund --no-package-lock --loglevel=error)

# node and the shared libraries it links, at the same paths as on the host.
install -D "$node" "$rootfs/usr/local/bin/node"
ldd "$node" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
  install -D "$(readlink -f "$lib")" "$rootfs$lib"
done
tar -C "$rootfs" -cf "$work/rootfs.tar" .
podman import --quiet --change 'CMD ["/usr/local/bin/node", "/app/app.mjs"]' "$work/rootfs.tar" "$image" >/dev/null
reference=$(podman image inspect --format '{{index .RepoDigests 0}}' "$image")

cat >"$out/codius.json" <<JSON
{
  "manifest": {
    "name": "$name",
    "version": "1.0.0",
    "port": "3000",
    "containers": [
      {
        "id": "app",
        "image": "$reference",
        "environment": { "PAY_TOKEN": "\$PAY_TOKEN"${extra:+, $extra} }
      }
    ]
  }
}
JSON
token=$(node -p 'require("crypto").randomBytes(16).toString("hex")')
# Private: the Codius CLI sends the value to the host only, and publishes its salted hash in the manifest.
(umask 077 && cat >"$out/codiusvars.json" <<JSON
{ "vars": { "private": { "PAY_TOKEN": { "value": "$token" } } } }
JSON
)
echo "build-image: $image is $reference; wrote $out/codius.json and $out/codiusvars.json"
echo "build-image: POST /pay on the pod needs: Authorization: Bearer $token"
