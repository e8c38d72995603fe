#!/usr/bin/env bash
# Make a Docker engine answer on this machine, idempotently.
#
# Installs Debian's docker.io with apt when dockerd is missing, and starts dockerd in the
# background when no engine answers (nothing else starts it on the lab's build machines).
# Prints what it did. Runs as root.
#
# Environment:
#   LAB_DOCKERD_LOG      dockerd's log file      (default /var/log/lab-dockerd.log)
#   LAB_DOCKERD_WAIT_S   seconds to wait for it  (default 60)
#   LAB_APT_LOCK_WAIT_S  seconds to wait for a running apt/dpkg to finish (default 600)
set -euo pipefail

log_file="${LAB_DOCKERD_LOG:-/var/log/lab-dockerd.log}"
wait_s="${LAB_DOCKERD_WAIT_S:-60}"
lock_wait_s="${LAB_APT_LOCK_WAIT_S:-600}"

say() { printf 'ensure-dockerd: %s\n' "$*"; }
die() { printf 'ensure-dockerd: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (try: sudo $0)"

engine_answers() { command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1; }

if engine_answers; then
  say "engine already answers ($(docker info --format '{{.ServerVersion}} {{.Driver}}' 2>/dev/null)); nothing to do"
  exit 0
fi

# Another apt (for instance a provisioning step installing docker.io right now) holds the dpkg
# lock; apt-get's own lock timeout waits for it instead of failing.
apt_get() {
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$lock_wait_s" "$@"
}

wait_for_dpkg() {
  local waited=0
  while pgrep -x dpkg >/dev/null 2>&1 || pgrep -x apt-get >/dev/null 2>&1 || pgrep -x apt >/dev/null 2>&1; do
    [ "$waited" = 0 ] && say "waiting for a running apt/dpkg to finish"
    sleep 2
    waited=$((waited + 2))
    [ "$waited" -ge "$lock_wait_s" ] && die "apt/dpkg still busy after ${lock_wait_s}s"
  done
  return 0
}

wait_for_dpkg
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  say "installing Debian's docker.io with apt"
  t0=$(date +%s)
  apt_get update -q
  apt_get install -y -q --no-install-recommends docker.io
  say "installed docker.io in $(( $(date +%s) - t0 ))s"
else
  say "dockerd is installed ($(dpkg-query -W -f '${Version}' docker.io 2>/dev/null || echo unknown version))"
fi

if pgrep -x dockerd >/dev/null 2>&1; then
  say "dockerd is running (pid $(pgrep -x dockerd | head -n1)) but does not answer yet; waiting"
else
  say "starting dockerd in the background (log: $log_file)"
  mkdir -p "$(dirname "$log_file")"
  # setsid: dockerd must outlive this script and the shell that ran it.
  setsid nohup dockerd >>"$log_file" 2>&1 </dev/null &
fi

t0=$(date +%s)
until engine_answers; do
  if [ $(( $(date +%s) - t0 )) -ge "$wait_s" ]; then
    tail -n 20 "$log_file" >&2 || true
    die "no Docker engine answered within ${wait_s}s; see $log_file"
  fi
  sleep 1
done
say "engine answers after $(( $(date +%s) - t0 ))s ($(docker info --format '{{.ServerVersion}} {{.Driver}}'))"
