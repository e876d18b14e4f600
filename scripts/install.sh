#!/usr/bin/env bash
# Installs everything codiusd and its tests need on Debian 12 (root): system packages, Podman configured
# for these hosts, then the npm dependencies, compiled (npm ci runs `prepare`, which builds dist/).
# Used by the quick start and by CI. With --keep-node-modules, an up-to-date node_modules is kept and only
# dist/ is rebuilt, so restarting the quick start does not reinstall everything.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/setup-podman.sh

# Native addons (sqlite3) compile against the running Node's headers; point node-gyp at them when they are
# installed beside node, since it cannot download them without internet access.
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/node.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi

echo "== node $(node --version), npm $(npm --version)"
if [ "${1:-}" = "--keep-node-modules" ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  npm run build
else
  npm ci
fi
