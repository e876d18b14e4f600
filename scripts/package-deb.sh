#!/usr/bin/env bash
# Builds the Debian package codiusd_<version>_<arch>.deb from this checkout: the compiled daemon and its
# production dependencies under /usr/lib/codiusd, the Node.js named in contrib/debian/node-version (the
# npm registry's binary package, integrity checked) in /usr/lib/codiusd/node, /usr/bin/codiusd, the
# systemd unit, /etc/codiusd/codiusd.env (a conffile that sets nothing until `codiusd setup` writes it),
# /var/lib/codiusd (0700), a man page, and the maintainer scripts in contrib/debian.
# The same checkout gives the same bytes: every timestamp is SOURCE_DATE_EPOCH (default: the last
# commit's time), files are listed in name order, owners are root, and the native addon is compiled in
# a fixed directory.
# Usage: scripts/package-deb.sh [--version VERSION] [--out DIR]
#   --version  the Debian version (default: package.json's, with ~ before a pre-release and revision -1)
#   --out      where the .deb goes (default: the current directory)
# Needs dpkg-dev, g++, make, python3 and the npm registry; the Node.js download and the compiled
# dependencies are cached in CODIUSD_PACKAGE_CACHE (default /var/cache/codiusd-package).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=$PWD
version=
while [ $# -gt 0 ]; do
  case $1 in
    --version) version=$2; shift 2 ;;
    --out) out=$(cd "$2" && pwd); shift 2 ;;
    *) echo "package-deb: unknown argument $1" >&2; exit 2 ;;
  esac
done
cd "$here"

cache=${CODIUSD_PACKAGE_CACHE:-/var/cache/codiusd-package}
arch=$(dpkg --print-architecture)
upstream=$(node -p 'require("./package.json").version')
# 2.0.0-alpha.1 → 2.0.0~alpha.1-1: Debian sorts ~ before anything, so the release comes after it.
version=${version:-$(printf '%s' "$upstream" | sed 's/-/~/')-1}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || stat -c %Y package.json)}
maintainer=${CODIUSD_DEB_MAINTAINER:-codiusd maintainers <codiusd@codius.org>}

read -r node_package node_version node_integrity < <(awk -v a="$arch" '$1 == a { print $2, $3, $4 }' contrib/debian/node-version)
if [ -z "${node_package:-}" ]; then
  echo "package-deb: contrib/debian/node-version names no Node.js for $arch" >&2
  exit 1
fi

# --- Node.js ------------------------------------------------------------------------------------------
node_dir=$cache/node-$node_package-$node_version
if [ ! -x "$node_dir/bin/node" ]; then
  mkdir -p "$cache"
  tarball=$(cd "$cache" && npm pack --silent "$node_package@$node_version")
  actual="sha512-$(openssl dgst -sha512 -binary "$cache/$tarball" | base64 -w0)"
  if [ "$actual" != "$node_integrity" ]; then
    echo "package-deb: $tarball has integrity $actual, not $node_integrity" >&2
    rm -f "$cache/$tarball"
    exit 1
  fi
  rm -rf "$node_dir.tmp" && mkdir -p "$node_dir.tmp"
  tar -xzf "$cache/$tarball" -C "$node_dir.tmp" --strip-components=1
  rm -f "$cache/$tarball"
  mv "$node_dir.tmp" "$node_dir"
fi
node24=$node_dir/bin/node

# --- Production dependencies, native addon built for that Node ------------------------------------------
# Keyed by everything that goes into them; built in one fixed directory so that paths compiled into the
# addon are always the same.
key=$(cat package-lock.json contrib/debian/node-version "$0" | sha256sum | cut -c1-16)
modules=$cache/modules-$key-$arch.tar
if [ ! -f "$modules" ]; then
  work=$cache/build
  rm -rf "$work" && mkdir -p "$work"
  cp package.json package-lock.json "$work/"
  (
    cd "$work"
    export PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir" npm_config_build_from_source=true
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
    npm rebuild sqlite3 --loglevel=error >/dev/null
    # Only the addon itself is loaded; the objects and sources it was built from are not shipped.
    find node_modules/sqlite3/build -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
    find node_modules/sqlite3/build/Release -mindepth 1 ! -name node_sqlite3.node -exec rm -rf {} +
    rm -rf node_modules/sqlite3/deps node_modules/sqlite3/src node_modules/sqlite3/node-addon-api \
      node_modules/sqlite3/binding.gyp node_modules/.package-lock.json
    platform=${node_package#node-}
    # Type declarations and source maps (a quarter of the size), the packages' own development files,
    # generated API documentation and addons built for other systems: nothing Node.js loads here.
    find node_modules -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \
      -o -name '.eslintrc*' -o -name '.npmignore' -o -name '.gitignore' -o -name '.gitattributes' \
      -o -name '.travis.yml' -o -name '.DS_Store' -o -name '.editorconfig' \) -delete
    find node_modules -type d \( -name .github -o -name .husky -o -name jsdoc -o -name apidoc \) -prune -exec rm -rf {} +
    find node_modules -type d -name prebuilds | while read -r dir; do
      find "$dir" -mindepth 1 -maxdepth 1 ! -name "$platform" -exec rm -rf {} +
      find "$dir" -name '*musl*' -delete
    done
    find node_modules \( -name '*.node' -o -name '*.bare' \) -exec strip --strip-unneeded --remove-section=.comment --remove-section=.note {} +
    # leveldown loads a prebuilt addon (N-API) for this platform: its sources go.
    rm -rf node_modules/leveldown/deps
    "$node24" -e "const s=require('sqlite3'); new s.Database(':memory:').get('select 1 as one',(e,r)=>{if(e||r.one!==1)process.exit(1)})"
  )
  tar -C "$work" -cf "$modules.tmp" node_modules
  mv "$modules.tmp" "$modules"
  rm -rf "$work"
fi

# --- The file tree --------------------------------------------------------------------------------------
npm run --silent build
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
lib=$root/usr/lib/codiusd
doc=$root/usr/share/doc/codiusd
mkdir -p "$lib/bin" "$lib/node/bin" "$lib/scripts" "$root/usr/bin" "$root/lib/systemd/system" \
  "$root/etc/codiusd" "$root/var/lib/codiusd" "$doc" "$root/usr/share/man/man8" "$root/DEBIAN"

tar -C "$lib" -xf "$modules"
rm -rf "$lib/node_modules/.bin"
cp package.json "$lib/"
cp bin/codiusd "$lib/bin/"
mkdir -p "$lib/dist" && tar -C dist -cf - --exclude='*.map' src | tar -C "$lib/dist" -xf -
cp scripts/setup-podman.sh "$lib/scripts/"
# Stripped as Debian strips its executables (the registry's binary keeps its symbol table).
strip --remove-section=.comment --remove-section=.note -o "$lib/node/bin/node" "$node24"
cp "$node_dir/LICENSE" "$lib/node/LICENSE"
ln -s ../lib/codiusd/bin/codiusd "$root/usr/bin/codiusd"
cp contrib/systemd/codiusd.service "$root/lib/systemd/system/"
cp .env.example "$doc/codiusd.env.example"
mkdir -p "$root/usr/share/lintian/overrides"
cp contrib/debian/lintian-overrides "$root/usr/share/lintian/overrides/codiusd"
{
  echo '# codiusd configuration, read by the codiusd service (systemd EnvironmentFile). `codiusd setup`'
  echo '# writes it; every variable, its type and default: codiusd --help, or'
  echo '# /usr/share/doc/codiusd/codiusd.env.example. This file sets nothing until then.'
} >"$root/etc/codiusd/codiusd.env"

# Documentation: changelog, copyright, the npm packages inside with their licenses, the man page.
date_rfc2822=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
printf 'codiusd (%s) unstable; urgency=medium\n\n  * Package built from codiusd %s (commit %s).\n\n -- %s  %s\n' \
  "$version" "$upstream" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$maintainer" "$date_rfc2822" |
  gzip -9n >"$doc/changelog.Debian.gz"
sed -e "s/@NODE_VERSION@/$node_version/g" contrib/debian/copyright >"$doc/copyright"
"$node24" dist/scripts/module-licenses.js "$lib/node_modules" >"$doc/node-modules.txt"
"$node24" dist/scripts/man-page.js "$version" | gzip -9n >"$root/usr/share/man/man8/codiusd.8.gz"

# Permissions: directories 0755, files 0644 or 0755 when executable; the configuration and data 0700/0600.
find "$root" -type d -exec chmod 0755 {} +
find "$root" -type f -perm /u+x -exec chmod 0755 {} +
find "$root" -type f ! -perm /u+x -exec chmod 0644 {} +
# Nothing in node_modules is run as a program (codiusd requires them, and runs moneyd's CLI with its
# own node), so no script there needs an interpreter of Debian's.
find "$lib/node_modules" -type f -exec chmod 0644 {} +
chmod 0700 "$root/etc/codiusd" "$root/var/lib/codiusd"
chmod 0600 "$root/etc/codiusd/codiusd.env"

# --- Control files ----------------------------------------------------------------------------------------
shlibs=$(
  cd "$stage" && mkdir -p debian && printf 'Source: codiusd\n\nPackage: codiusd\nArchitecture: any\n' >debian/control &&
    dpkg-shlibdeps -O -e "$lib/node/bin/node" -e "$lib/node_modules/sqlite3/build/Release/node_sqlite3.node" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p'
)
rm -rf "$stage/debian"
# Podman and the network stack setup-podman.sh configures, the firewall, and HAProxy (the public port's
# engine); runsc (gVisor) is optional.
depends="$shlibs, podman, runc, conmon, netavark, aardvark-dns, nftables, iptables, iproute2, fuse-overlayfs, slirp4netns, uidmap, catatonit, haproxy, ca-certificates, init-system-helpers (>= 1.52)"
installed_size=$(du -s --apparent-size --block-size=1024 "$root" | cut -f1)
sed -e "s|@VERSION@|$version|; s|@ARCH@|$arch|; s|@MAINTAINER@|$maintainer|; s|@INSTALLED_SIZE@|$installed_size|" \
  -e "s|@DEPENDS@|$depends|; s|@RECOMMENDS@|runsc|; s|@NODE_VERSION@|$node_version|" \
  contrib/debian/control.in >"$root/DEBIAN/control"
echo /etc/codiusd/codiusd.env >"$root/DEBIAN/conffiles"
install -m 0755 contrib/debian/postinst contrib/debian/prerm contrib/debian/postrm "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

find "$root" -depth -exec touch --no-dereference -d "@$SOURCE_DATE_EPOCH" {} +
deb=$out/codiusd_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
