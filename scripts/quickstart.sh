#!/usr/bin/env bash
# The README's quick start: on a fresh Debian 12 machine (root, Node.js 20 on PATH), installs everything
# and runs codiusd in development mode in the foreground, on its embedded defaults: the sqlite store and
# host secret in ./data, an embedded `moneyd local` (play money) unless one already listens on
# localhost:7768, and a Podman API service that codiusd starts itself. Ctrl-C stops it.
# Any CODIUS_* variable set in the environment wins, e.g. CODIUS_PORT=3001 bash scripts/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh --keep-node-modules

export CODIUS_DEV=${CODIUS_DEV:-true}
export CODIUS_ROOT=${CODIUS_ROOT:-$PWD/data}
# A host on loopback is of no use to the public peers of the default list, and they could not reach it.
export CODIUS_BOOTSTRAP_PEERS=${CODIUS_BOOTSTRAP_PEERS:-[]}
exec ./bin/codiusd
