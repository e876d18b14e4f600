#!/usr/bin/env bash
# The fast tier, and any test files named after the line, on another Node.js line than the one the whole
# suite ran on (codiusd keeps working on 20, 22 and 24; the Debian package carries 24), with sqlite3
# rebuilt against that Node's headers.
# Usage: .ci/fast-tier.sh MAJOR [dist/test/…/file.test.js …]
# The build the suite used is kept aside and put back when this ends, however it ends: an addon built for
# one line can crash another on load.
set -euo pipefail
cd "$(dirname "$0")/.."
major=${1:?usage: .ci/fast-tier.sh MAJOR [test files]}
shift
bin=$(bash .ci/node.sh "$major")
export PATH="$bin:$PATH"
echo "== fast tier on node $(node --version)"

build=node_modules/sqlite3/build
rm -rf "$build.suite" && cp -a "$build" "$build.suite"
trap 'rm -rf "$build" && mv "$build.suite" "$build"' EXIT
npm_config_nodedir="$(dirname "$bin")" npm rebuild sqlite3 --loglevel=error
node -e "const s=require('sqlite3'); new s.Database(':memory:').get('select 1 as one',(e,r)=>{if(e||r.one!==1)process.exit(1)})"

npm run test:unit
for file in "$@"; do
  node --test --test-concurrency=1 "$file"
done
