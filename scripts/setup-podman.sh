#!/usr/bin/env bash
# Installs and configures Podman for codiusd on Debian 12, idempotently: packages, then one containers.conf
# drop-in with the settings these hosts need. Safe to re-run; it changes nothing that is already right.
set -euo pipefail

packages=(podman runc conmon netavark aardvark-dns iptables nftables fuse-overlayfs slirp4netns uidmap catatonit)
dropin_dir=/etc/containers/containers.conf.d
dropin=$dropin_dir/50-codiusd.conf

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-podman: must run as root (it installs packages and writes $dropin)" >&2
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-podman: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Why each setting:
# - default_ulimits: podman asks for nofile=1048576 by default, which root without CAP_SYS_RESOURCE may not
#   raise to, so every container would fail at setrlimit. pids_limit per pod is the real process cap.
# - cgroup_manager/events_logger: these hosts may run without systemd as PID 1 and without journald.
# - runtime runc: crun refuses cgroup v1 hybrid hierarchies unless hugetlb is mounted by hand.
# - network_backend netavark: Debian's podman ships a CNI config but no CNI plugins.
wanted=$(cat <<'CONF'
# Written by codiusd scripts/setup-podman.sh; re-running the script restores it.
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"

[network]
network_backend = "netavark"
CONF
)
mkdir -p "$dropin_dir"
if [ ! -f "$dropin" ] || [ "$(cat "$dropin")" != "$wanted" ]; then
  printf '%s\n' "$wanted" >"$dropin"
  echo "setup-podman: wrote $dropin"
fi

# Fail here, not at the first upload, if podman cannot work with this configuration.
if ! podman info --format '{{.Host.NetworkBackend}} {{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}' >/tmp/codiusd-podman-info.$$ 2>&1; then
  cat /tmp/codiusd-podman-info.$$ >&2
  rm -f /tmp/codiusd-podman-info.$$
  echo "setup-podman: podman info failed" >&2
  exit 1
fi
echo "setup-podman: podman $(podman --version | awk '{print $3}') ready ($(cat /tmp/codiusd-podman-info.$$))"
rm -f /tmp/codiusd-podman-info.$$
