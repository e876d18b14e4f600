#!/usr/bin/env bash
# Installs the system packages codiusd and its test suite need on Debian 12, idempotently.
# Node.js 20 or newer must already be on PATH (see README); sqlite3 builds from source against its headers.
set -euo pipefail

need_node_major=20
if ! command -v node >/dev/null 2>&1; then
  echo "install-deps: node is not on PATH; install Node.js ${need_node_major} or newer first" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt "$need_node_major" ]; then
  echo "install-deps: Node.js $(node --version) is too old; ${need_node_major} or newer is required" >&2
  exit 1
fi

# Build tools for sqlite3's native addon; for the test suite, busybox-static (test pod images),
# docker-registry (a loopback OCI registry the tests pull images from by digest), nginx (test pods laid
# out like the official nginx image, the TLS front test and the proxy benchmark), openssl (the TLS front
# test's certificates), chromium (the dashboard test, driven by playwright-core) and haproxy (the
# CODIUS_PROXY_ENGINE=haproxy engine, its tests and the proxy benchmark); for the HTTPS tests, pebble
# (Let's Encrypt's test CA), knot and knot-dnsutils (an authoritative DNS server taking TSIG-signed
# updates, and knsupdate for the DNS hook test), bind9 (the same updates against BIND) and libnss3-tools
# (certutil: Chromium trusts pebble's root through a test profile's NSS database); for the Debian package
# and its tests, dpkg-dev (dpkg-shlibdeps), lintian and debootstrap (a fresh Debian root to install into).
missing=()
for tool in python3 make g++; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
command -v busybox >/dev/null 2>&1 || missing+=(busybox-static)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v pebble >/dev/null 2>&1 || missing+=(pebble)
[ -x /usr/sbin/knotd ] || missing+=(knot)
command -v knsupdate >/dev/null 2>&1 || missing+=(knot-dnsutils)
[ -x /usr/sbin/named ] || missing+=(bind9)
command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
command -v dpkg-shlibdeps >/dev/null 2>&1 || missing+=(dpkg-dev)
command -v lintian >/dev/null 2>&1 || missing+=(lintian)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${missing[*]}; run as root or install them with apt" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Packages with services (nginx, haproxy, knot, bind9) must not start them here: nothing of theirs should listen on this host.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
