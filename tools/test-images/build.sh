#!/usr/bin/env bash
# Build the test lane's local images inside a Debian 12 guest, from Debian's own packages.
#
# No container registry is reachable from the lab's test machines, but Debian's apt is. Each
# recipe (recipes/*.conf) makes one image with `docker import`:
#   KIND=debian    the real program: its Debian package is downloaded with `apt-get download`,
#                  unpacked with `dpkg-deb -x` (nothing is installed in the guest), and its
#                  binaries plus the libraries `ldd` names (and any data files the recipe
#                  lists) are copied onto busybox-static.
#   KIND=stand-in  for programs Debian does not package (Grafana, Loki, Alloy): busybox httpd
#                  answering only the program's health endpoint, labelled as a stand-in.
# Which upstream image each one replaces is image-overrides.yaml (adr/0122).
# The images run as root, unlike upstream's (nobody): in the simulator's container guests,
# Docker cannot `exec` into a container whose first process is not root (the guest lacks
# CAP_SYS_PTRACE), and healthchecks are execs.
#
# Usage (as root, Docker running):  build.sh [RECIPE...]   (names or paths; default: all)
# Prints one line per image:  @@image <name> <kind> <seconds> <what it holds>
# An image whose recipe-hash label matches is kept (@@image … cached).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { printf 'test-images: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root"
command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer"

recipes=()
if [ "$#" -eq 0 ]; then
  for f in "$here"/recipes/*.conf; do recipes+=("$f"); done
else
  for r in "$@"; do
    if [ -f "$r" ]; then recipes+=("$r"); elif [ -f "$here/recipes/$r.conf" ]; then recipes+=("$here/recipes/$r.conf"); else die "no recipe $r"; fi
  done
fi

work="$(mktemp -d /tmp/lab-test-images.XXXXXX)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" "$work/x"
chmod 0755 "$work" "$work/debs"

read_recipe() {
  # Each recipe is a few shell assignments; read them in a clean subshell.
  KIND='' IMAGE='' PACKAGES='' BINARIES='' DATA='' ENTRYPOINT='' CMD='' WORKDIR='' DIRS='' EXPOSE='' STANDS_IN_FOR='' PORT='' SERVE_PATH='' SERVE_BODY=''
  # shellcheck disable=SC1090
  . "$1"
  [ -n "$IMAGE" ] || die "$1: IMAGE is missing"
  case "$KIND" in debian|stand-in) ;; *) die "$1: KIND must be debian or stand-in" ;; esac
}

# One download for every package the recipes need, plus busybox-static for the base.
pkgs="busybox-static"
for r in "${recipes[@]}"; do (read_recipe "$r"; printf '%s\n' "$PACKAGES") >>"$work/pkgs"; done
pkgs="$pkgs $(tr ' ' '\n' <"$work/pkgs" | sort -u | tr '\n' ' ')"
if ! (cd "$work/debs" && apt-get download $pkgs >/dev/null 2>"$work/apt.err"); then
  # Fresh guests have no package lists yet.
  apt-get update -qq >/dev/null
  (cd "$work/debs" && apt-get download $pkgs >/dev/null) || die "apt-get download $pkgs failed"
fi
for d in "$work"/debs/*.deb; do
  name="$(dpkg-deb -f "$d" Package)"
  mkdir -p "$work/x/$name"
  dpkg-deb -x "$d" "$work/x/$name"
  printf '%s=%s\n' "$name" "$(dpkg-deb -f "$d" Version)" >>"$work/versions"
done
version_of() { grep "^$1=" "$work/versions" | head -n1 | cut -d= -f2-; }

base() {
  local root="$1"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,www}
  chmod 1777 "$root/tmp"
  cp "$work/x/busybox-static/bin/busybox" "$root/bin/busybox"
  # Every applet at its usual place: sh, wget (the upstream images' healthchecks use it), …
  "$root/bin/busybox" --list-full | while read -r applet; do
    [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
}

copy_with_libs() {
  local root="$1" pkgroot="$2" bin="$3"
  [ -f "$pkgroot$bin" ] || die "$bin is not in the package"
  mkdir -p "$root$(dirname "$bin")"
  cp "$pkgroot$bin" "$root$bin"
  # The guest runs the same Debian release, so its own libraries are the ones the binary needs.
  ldd "$pkgroot$bin" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
    [ -e "$root$lib" ] || cp -L --parents "$lib" "$root"
  done
}

for r in "${recipes[@]}"; do
  (
    read_recipe "$r"
    start=$(date +%s)
    hash="$(cat "$here/build.sh" "$r" | sha256sum | cut -c1-16)"
    if [ "$(docker image inspect -f '{{index .Config.Labels "dev.lab.recipe-hash"}}' "$IMAGE" 2>/dev/null || true)" = "$hash" ]; then
      printf '@@image %s %s 0 cached\n' "$IMAGE" "$KIND"
      exit 0
    fi
    root="$work/root-$(basename "$r" .conf)"
    base "$root"
    # `docker import` sets no PATH; `docker exec <ctr> promtool` needs one, as upstream's images have.
    changes=(-c "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" -c "LABEL dev.lab.test-image=$KIND" -c "LABEL dev.lab.recipe-hash=$hash")
    if [ "$KIND" = debian ]; then
      held=""
      for p in $PACKAGES; do held="$held,$p=$(version_of "$p")"; done
      for b in $BINARIES; do
        owner=""
        for p in $PACKAGES; do [ -f "$work/x/$p$b" ] && owner="$p"; done
        [ -n "$owner" ] || die "$r: no package of '$PACKAGES' holds $b"
        copy_with_libs "$root" "$work/x/$owner" "$b"
      done
      for f in $DATA; do
        owner=""
        for p in $PACKAGES; do [ -e "$work/x/$p$f" ] && owner="$p"; done
        [ -n "$owner" ] || die "$r: no package of '$PACKAGES' holds $f"
        (cd "$work/x/$owner" && cp -a --parents ".$f" "$root")
      done
      for d in $DIRS; do mkdir -p "$root$d"; done
      changes+=(-c "LABEL dev.lab.debian-packages=${held#,}" -c "ENTRYPOINT $ENTRYPOINT")
      [ -z "$CMD" ] || changes+=(-c "CMD $CMD")
      [ -z "$WORKDIR" ] || changes+=(-c "WORKDIR $WORKDIR")
      what="Debian ${held#,}"
    else
      mkdir -p "$root/www$(dirname "$SERVE_PATH")"
      printf '%s\n' "$SERVE_BODY" >"$root/www$SERVE_PATH"
      printf 'lab-local stand-in for %s: it serves only %s (tools/test-images).\n' "$STANDS_IN_FOR" "$SERVE_PATH" >"$root/www/index.html"
      # Any arguments (the real program's flags in the compose file) are ignored.
      printf '#!/bin/sh\nexec httpd -f -p "$STANDIN_PORT" -h /www\n' >"$root/stand-in"
      chmod 0755 "$root/stand-in"
      changes+=(-c "ENV STANDIN_PORT=$PORT" -c 'ENTRYPOINT ["/stand-in"]' -c "LABEL dev.lab.stands-in-for=$STANDS_IN_FOR")
      EXPOSE="$PORT"
      what="stand-in for $STANDS_IN_FOR, serves $SERVE_PATH only"
    fi
    [ -z "$EXPOSE" ] || changes+=(-c "EXPOSE $EXPOSE")
    tar --numeric-owner -C "$root" -c . | docker import "${changes[@]}" - "$IMAGE" >/dev/null
    printf '@@image %s %s %s %s\n' "$IMAGE" "$KIND" "$(( $(date +%s) - start ))" "$what"
  )
done
