#!/usr/bin/env bash
# Prepare this machine for the test suite, saying what it does and why. Idempotent and quiet
# when everything is already there. Installs only from Debian's packages.
#   - age: secrets interop tests check files against the real age CLI
#   - restic: capture tests back up and restore with it
#   - rclone: `rclone serve restic --stdio` serves a local restic repository to a guest's restic over SSH
#   - debootstrap + docker.io: guests are Debian containers built from Debian's packages
#   - python3-proxmoxer: a third-party Proxmox client checks the simulator's fidelity
#   - chromium: `lab serve` is tested in a real headless browser (puppeteer-core drives /usr/bin/chromium)
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v age >/dev/null || need+=(age)
command -v restic >/dev/null || need+=(restic)
command -v rclone >/dev/null || need+=(rclone)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v dockerd >/dev/null || need+=(docker.io)
/usr/bin/python3 -c 'import proxmoxer, requests' 2>/dev/null || need+=(python3-proxmoxer python3-requests)
[ -x /usr/bin/chromium ] || need+=(chromium)
if ((${#need[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "prepare: missing ${need[*]}; install them with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "prepare: installing ${need[*]} from Debian's packages (needed by the integration tests)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -x tools/docker/ensure-dockerd.sh ] || [ -f tools/docker/ensure-dockerd.sh ]; then
  bash tools/docker/ensure-dockerd.sh
fi
if [ -f tools/guest-image/build.sh ]; then
  bash tools/guest-image/build.sh
  # Debian 13 guests: only packages/pve-sim/test/trixie-docker.test.ts and labs whose catalogue
  # boots debian-13 use it; cached by recipe hash like the bookworm image.
  bash tools/guest-image/build.sh --suite=trixie
fi

# Guests: each booted guest container holds ~8 inotify instances of the host user (systemd and
# friends); the kernel default of 128 per user stops guests past ~15 from booting, silently.
guests="${LAB_TEST_GUESTS:-16}"
limit_file=/proc/sys/fs/inotify/max_user_instances
if [ -r "$limit_file" ]; then
  limit="$(cat "$limit_file")"
  need=$(( guests * 8 + 64 ))
  if [ "$limit" -lt "$need" ]; then
    target=1024
    while [ "$target" -lt $(( need * 2 )) ]; do target=$(( target * 2 )); done
    if [ "$(id -u)" = 0 ] && echo "$target" > "$limit_file" 2>/dev/null; then
      echo "prepare: raised fs.inotify.max_user_instances from $limit to $target (the tests boot up to $guests guests, ~8 each; LAB_TEST_GUESTS)" >&2
    else
      echo "prepare: fs.inotify.max_user_instances is $limit, but the tests boot up to $guests guests (~8 instances each, ~$need in all)." >&2
      echo "prepare: fix it on the host: sudo sysctl -w fs.inotify.max_user_instances=$target" >&2
      exit 1
    fi
  fi
fi
