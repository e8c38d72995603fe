#!/usr/bin/env bash
# Build the lab's guest image: Debian (bookworm by default, or trixie) booting systemd, with
# cloud-init reading a NoCloud seed, OpenSSH, sudo and the QEMU guest agent, imported into Docker
# as lab-guest:<suite>-<hash>.
#
# The tag's hash covers this directory (script, package list, rootfs overlay), so the image is
# rebuilt only when the recipe changes; an existing tag is reused. Packages come from the apt
# mirror this machine is configured with (/etc/apt/sources.list{,.d}); a suite the host has no
# source for comes from the host's own Debian mirror. No host name is built in.
#
# Usage: build.sh [--suite=bookworm|trixie] [--print-tag] [--force]
#   --suite      the Debian release (default bookworm, Debian 12; trixie is Debian 13)
#   --print-tag  print the tag this recipe builds and exit (no Docker, no root needed)
#   --force      rebuild even if the tag exists
# Progress and timings go to stderr; the last line on stdout is the image tag.
set -euo pipefail
umask 022

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suite="bookworm"
suites=(bookworm trixie)
repository="lab-guest"
packages=(
  openssh-server sudo systemd systemd-sysv dbus python3 ca-certificates iproute2
  cloud-init locales qemu-guest-agent ifupdown debian-archive-keyring
  # debootstrap does not resolve virtual packages; python3-cryptography needs this provider.
  python3-cffi-backend
)
# Units that have nothing to do in a container, or that would make guests busy at random times.
masked_units=(
  getty@tty1.service console-getty.service serial-getty@console.service
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer
)

log() { printf 'guest-image: %s\n' "$*" >&2; }
die() { printf 'guest-image: error: %s\n' "$*" >&2; exit 1; }

recipe_hash() {
  # Every file of the recipe by relative path and content; docs do not change the image.
  (cd "$here" && find . -type f ! -name '*.md' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
    sha256sum | cut -c1-12
}

force=0
print_tag=0
for arg in "$@"; do
  case "$arg" in
    --print-tag) print_tag=1 ;;
    --force) force=1 ;;
    --suite=*) suite="${arg#--suite=}" ;;
    *) die "unknown argument: $arg (usage: build.sh [--suite=bookworm|trixie] [--print-tag] [--force])" ;;
  esac
done
case " ${suites[*]} " in
  *" $suite "*) ;;
  *) die "unknown suite '$suite': the guest image is built for ${suites[*]}" ;;
esac
tag="${repository}:${suite}-$(recipe_hash)"
if [ "$print_tag" = 1 ]; then echo "$tag"; exit 0; fi

[ "$(id -u)" = 0 ] || die "must run as root: debootstrap needs it (try: sudo $0)"
command -v docker >/dev/null || die "no docker CLI; run tools/docker/ensure-dockerd.sh first"
docker info >/dev/null 2>&1 || die "no Docker engine answers; run tools/docker/ensure-dockerd.sh first"

# Two test runs may ask for the image at once; the second waits and then finds it built.
exec 9>/tmp/lab-guest-image.lock
if ! flock -n 9; then
  log "another build holds /tmp/lab-guest-image.lock; waiting"
  flock 9
fi

if [ "$force" = 0 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  log "$tag exists (recipe unchanged); nothing to build"
  echo "$tag"
  exit 0
fi

# First URI of an enabled deb source for <suite>, from deb822 .sources or one-line .list files.
apt_uri_for() {
  local want="$1" f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v want="$want" '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          key = tolower(line); sub(/:.*/, "", key)
          value = line; sub(/^[^:]*:[ \t]*/, "", value)
          if (key == "types") types = value
          else if (key == "uris") uris = value
          else if (key == "suites") suites = value
          else if (key == "enabled") enabled = tolower(value)
        }
        if (enabled != "no" && (" " types " ") ~ / deb / && (" " suites " ") ~ (" " want " ")) {
          split(uris, u, " "); print u[1]; exit
        }
      }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v want="$want" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
        if ($(i + 1) == want) { print $i; exit }
      }' "$f"
  done
}

mirror="$(apt_uri_for "$suite" | head -n1)"
security="$(apt_uri_for "$suite-security" | head -n1)"
if [ -z "$mirror" ]; then
  # Another release than the host's: the same Debian archive serves it.
  host_suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  mirror="$(apt_uri_for "$host_suite" | head -n1)"
  security="$(apt_uri_for "$host_suite-security" | head -n1)"
  [ -n "$mirror" ] && log "no apt source for '$suite'; using the host's Debian mirror"
fi
[ -n "$mirror" ] || die "no apt source for '$suite' in /etc/apt/sources.list{,.d}; configure Debian's mirror there"
log "Debian mirror from apt config: $mirror${security:+ (security: $security)}"

if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q debootstrap >&2
fi

work="$(mktemp -d "${LAB_GUEST_BUILD_DIR:-/var/tmp}/lab-guest-build.XXXXXX")"
trap 'rm -rf --one-file-system "$work"' EXIT
root="$work/root"
t_start=$(date +%s)

log "debootstrap $suite (minbase + ${#packages[@]} packages) into $root"
include="$(IFS=,; echo "${packages[*]}")"
debootstrap --variant=minbase --components=main --include="$include" "$suite" "$root" "$mirror" 9>&- \
  >"$work/debootstrap.log" 2>&1 || {
  tail -n 15 "$work/debootstrap.log" >&2
  tail -n 40 "$root/debootstrap/debootstrap.log" >&2 2>/dev/null || true
  die "debootstrap failed"
}
t_debootstrap=$(date +%s)
log "debootstrap took $((t_debootstrap - t_start))s"

cp -r "$here/rootfs/." "$root/"
# The simulator copies the seed and the NIC list into these before each boot (docker cp needs
# the directories to exist).
mkdir -p "$root/var/lib/cloud/seed/nocloud" "$root/etc/lab-guest"

# The guest uses the same mirror as this machine, deb822 style as Debian 12 cloud images do.
rm -f "$root/etc/apt/sources.list"
{
  printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' "$mirror" "$suite" "$suite"
  printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
  if [ -n "$security" ]; then
    printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "$security" "$suite"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
  fi
} >"$root/etc/apt/sources.list.d/debian.sources"

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C "$@" 9>&-; }

lab_units=(lab-guest-etc.service lab-guest-disks.service lab-guest-etc-save.path lab-guest-net.service lab-ssh-hostkeys.service qemu-guest-agent.service)
in_root systemctl enable "${lab_units[@]}" >/dev/null 2>&1 || die "systemctl enable ${lab_units[*]} failed"
in_root systemctl mask "${masked_units[@]}" >/dev/null 2>&1 || die "systemctl mask failed"
log "enabled ${lab_units[*]}; masked ${#masked_units[@]} units"

# cloud-init's locale module regenerates the distro default locale at first boot unless it is
# already the configured one; generating it here keeps that out of every boot.
sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' "$root/etc/locale.gen"
in_root locale-gen >/dev/null
printf 'LANG=en_US.UTF-8\n' >"$root/etc/default/locale"

# No DHCP server answers on a simulated bridge; Debian's 60 s DHCP timeout would hold sshd
# (After=network.target) back that long on a guest whose NIC is set to DHCP. (Trixie's ifupdown
# installs no DHCP client without recommends: a DHCP NIC fails at once there.)
if [ -d "$root/etc/dhcp" ]; then
  printf '\n# lab guest image: no DHCP server answers on a simulated bridge\ntimeout 5;\n' >>"$root/etc/dhcp/dhclient.conf"
fi

# Debian's default cloud-init user joins these groups; a minbase system lacks some of them.
for group in adm audio cdrom dialout dip floppy netdev plugdev sudo video; do
  in_root getent group "$group" >/dev/null || in_root groupadd --system "$group"
done

# Every guest must be unique: no host keys, no machine id, no identity from this build machine.
rm -f "$root"/etc/ssh/ssh_host_*
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
printf 'debian\n' >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
rm -f "$root/etc/resolv.conf"
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/cache/debconf/*-old
t_config=$(date +%s)
log "configuration took $((t_config - t_debootstrap))s"

tar --numeric-owner -C "$root" -c . |
  docker import \
    --change 'CMD ["/sbin/init"]' \
    --change 'ENV container=docker' \
    --message "lab guest image, recipe $tag" \
    - "$tag" >/dev/null
t_import=$(date +%s)
# Older recipes' images are garbage once this one exists; those still used by a container stay.
# LAB_GUEST_IMAGE_KEEP_OLDER=1 keeps them (a machine shared by checkouts of different recipes).
if [ "${LAB_GUEST_IMAGE_KEEP_OLDER:-0}" != 1 ]; then
  docker images --format '{{.Repository}}:{{.Tag}}' "$repository" | grep "^${repository}:${suite}-" | grep -vxF "$tag" |
    xargs -r docker rmi >/dev/null 2>&1 || true
fi
log "docker import took $((t_import - t_config))s; total $((t_import - t_start))s -> $tag"
echo "$tag"
