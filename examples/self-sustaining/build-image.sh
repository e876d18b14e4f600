#!/usr/bin/env bash
# Builds the self-sustaining pod: the earn-and-spend program (examples/earn-and-spend), told to keep
# itself running from what it earns. Writes codius.json and codiusvars.json next to this script.
#   KEEP_ALIVE_BELOW  seconds: pay rent when less time than this is left (default 600)
#   RENT_AMOUNT       base units paid each time (default 1141553: 300 s at 10 XRP a month, scale 9)
# Run as root on the host, like the earn-and-spend build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
below=${KEEP_ALIVE_BELOW:-600}
amount=${RENT_AMOUNT:-1141553}
CODIUS_EARN_IMAGE=${CODIUS_EARN_IMAGE:-localhost/codius-self-sustaining:latest} \
  CODIUS_EARN_OUT="$here" \
  CODIUS_EARN_NAME=codius-self-sustaining \
  CODIUS_EARN_ENVIRONMENT="\"KEEP_ALIVE_BELOW\": \"$below\", \"RENT_AMOUNT\": \"$amount\"" \
  bash "$here/../earn-and-spend/build-image.sh"
