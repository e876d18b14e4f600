#!/usr/bin/env bash
# Installs and configures Podman for codiusd on Debian 12, idempotently: packages (gVisor's runsc and
# nftables included), one containers.conf drop-in with the settings these hosts need, subordinate ids for
# per-pod user namespaces, and bridge netfilter so the pod firewall sees pod-to-pod traffic. Safe to re-run;
# it changes nothing that is already right.
set -euo pipefail

packages=(podman runc conmon netavark aardvark-dns iptables nftables fuse-overlayfs slirp4netns uidmap catatonit runsc)
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

# Each pod gets a user namespace of its own (container root is not host root): Podman allocates them from
# the subordinate ids of its "containers" user.
for file in /etc/subuid /etc/subgid; do
  if ! grep -q '^containers:' "$file" 2>/dev/null; then
    echo 'containers:2147483647:2147483648' >>"$file"
    echo "setup-podman: added subordinate ids for user namespaces to $file"
  fi
done

# Bridged pod-to-pod packets reach nftables (and so the pod firewall) only with br_netfilter and
# bridge-nf-call-iptables=1; both are made persistent.
if [ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
  modprobe br_netfilter 2>/dev/null || echo "setup-podman: could not load br_netfilter; the pod firewall will refuse to start" >&2
fi
if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] && [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables)" != 1 ]; then
  sysctl -q -w net.bridge.bridge-nf-call-iptables=1
fi
if [ -d /etc/modules-load.d ] && [ ! -f /etc/modules-load.d/codiusd.conf ]; then
  echo br_netfilter >/etc/modules-load.d/codiusd.conf
fi
if [ -d /etc/sysctl.d ] && [ ! -f /etc/sysctl.d/50-codiusd.conf ]; then
  printf 'net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\n' >/etc/sysctl.d/50-codiusd.conf
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
