#!/usr/bin/env bash
# Build lab's local images from Debian's own packages, on the workstation (lab pushes them to
# guests, adr/0150) or inside a Debian 12 guest. Any Debian 12 machine with Docker and apt works.
#
# No container registry is reachable from the lab's test machines, but Debian's apt is. Each
# recipe (recipes/*.conf) makes one image with `docker import`:
#   KIND=debian    the real program: its Debian package and the packages it depends on are
#                  downloaded with `apt-get download`, unpacked with `dpkg-deb -x` (nothing is
#                  installed here), and its binaries plus the libraries `ldd` names (resolved in
#                  the unpacked packages first, then in this machine's own Debian 12 libraries)
#                  and any data files the recipe lists are copied onto busybox-static.
#   KIND=stand-in  for programs Debian does not package (Grafana, Jellyfin, Vaultwarden…):
#                  busybox httpd answering only the health endpoints the personas probe,
#                  labelled `dev.lab.stand-in=<upstream image>` (adr/0151). Never the real thing.
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
mkdir -p "$work/debs" "$work/x" "$work/sys"
chmod 0755 "$work" "$work/debs"

read_recipe() {
  # Each recipe is a few shell assignments; read them in a clean subshell.
  KIND='' IMAGE='' PACKAGES='' BINARIES='' DATA='' ENTRYPOINT='' CMD='' WORKDIR='' DIRS='' EXPOSE='' ENVS='' SCRIPT=''
  STANDS_IN_FOR='' UPSTREAM='' PORT='' EXTRA_PORTS='' SERVE_PATH='' SERVE_BODY=''
  # shellcheck disable=SC1090
  . "$1"
  [ -n "$IMAGE" ] || die "$1: IMAGE is missing"
  case "$KIND" in debian|stand-in) ;; *) die "$1: KIND must be debian or stand-in" ;; esac
  [ "$KIND" = debian ] || [ -n "$UPSTREAM" ] || die "$1: a stand-in needs UPSTREAM (the image it stands in for)"
}

# A package and everything it depends on (no recommends): the libraries its binaries need,
# whether or not this machine has them installed.
# Packages this machine has installed are left out: `ldd` finds their libraries here (same
# Debian release), so only what is missing is downloaded. The named packages always are.
closure() {
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances "$@" 2>/dev/null \
    | grep -E '^[a-z0-9]' | sort -u | while read -r p; do
      case " $* " in *" $p "*) printf '%s\n' "$p"; continue ;; esac
      [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || printf '%s\n' "$p"
    done
}

# One download for every package the recipes need, plus busybox-static for the base.
# Only the recipes whose image is missing or stale need packages.
hash_of() { cat "$here/build.sh" "$1" | sha256sum | cut -c1-16; }
image_of() { (read_recipe "$1"; printf '%s' "$IMAGE"); }
fresh() { [ "$(docker image inspect -f '{{index .Config.Labels "dev.lab.recipe-hash"}}' "$(image_of "$1")" 2>/dev/null || true)" = "$(hash_of "$1")" ]; }
wanted="" stale=0
for r in "${recipes[@]}"; do
  fresh "$r" && continue
  stale=1
  wanted="$wanted $( (read_recipe "$r"; printf '%s' "$PACKAGES") )"
done
if [ "$stale" = 1 ]; then
  pkgs="$(closure busybox-static $wanted | tr '\n' ' ')"
  if [ -z "$pkgs" ] || ! (cd "$work/debs" && apt-get download $pkgs >/dev/null 2>"$work/apt.err"); then
    # Fresh guests have no package lists yet (or stale ones).
    apt-get update -qq >/dev/null
    pkgs="$(closure busybox-static $wanted | tr '\n' ' ')"
    (cd "$work/debs" && apt-get download $pkgs >/dev/null 2>"$work/apt.err") || die "apt-get download failed: $(tail -n 3 "$work/apt.err")"
  fi
  mkdir -p "$work/sys"
  for d in "$work"/debs/*.deb; do
    name="$(dpkg-deb -f "$d" Package)"
    mkdir -p "$work/x/$name"
    dpkg-deb -x "$d" "$work/x/$name"
    dpkg-deb -x "$d" "$work/sys"
    printf '%s=%s\n' "$name" "$(dpkg-deb -f "$d" Version)" >>"$work/versions"
  done
fi
touch "$work/versions"
# Library directories of the unpacked packages, searched before this machine's own.
libpath="$(find "$work/sys" -name '*.so*' -printf '%h\n' 2>/dev/null | sort -u | tr '\n' ':')"

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
  # Libraries from the unpacked packages first; what this machine (Debian 12 as well) has
  # installed serves for the rest (libc, the loader).
  local missing
  missing="$(LD_LIBRARY_PATH="$libpath" ldd "$pkgroot$bin" 2>/dev/null | grep 'not found' || true)"
  [ -z "$missing" ] || die "$bin: libraries not found in its packages nor here: $(printf '%s' "$missing" | tr -s ' \t\n' ' ')"
  LD_LIBRARY_PATH="$libpath" ldd "$pkgroot$bin" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do
    case "$lib" in
      "$work/sys/"*) dest="${lib#"$work/sys"}" ;;
      *) dest="$lib" ;;
    esac
    [ -e "$root$dest" ] && continue
    mkdir -p "$root$(dirname "$dest")"
    cp -L "$lib" "$root$dest"
  done
}

for r in "${recipes[@]}"; do
  (
    read_recipe "$r"
    start=$(date +%s)
    hash="$(hash_of "$r")"
    if fresh "$r"; then
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
        # Data of the recipe's packages or of the packages they depend on.
        [ -e "$work/sys$f" ] || die "$r: no package of '$PACKAGES' (or their dependencies) holds $f"
        (cd "$work/sys" && cp -a --parents ".$f" "$root")
      done
      for d in $DIRS; do mkdir -p "$root$d"; done
      if [ -n "$SCRIPT" ]; then
        # A small start script (busybox sh), for programs that need a first-run file.
        printf '#!/bin/sh\n%s\n' "$SCRIPT" >"$root/lab-entrypoint"
        chmod 0755 "$root/lab-entrypoint"
      fi
      for e in $ENVS; do changes+=(-c "ENV $e"); done
      changes+=(-c "LABEL dev.lab.debian-packages=${held#,}" -c "ENTRYPOINT $ENTRYPOINT")
      [ -z "$CMD" ] || changes+=(-c "CMD $CMD")
      [ -z "$WORKDIR" ] || changes+=(-c "WORKDIR $WORKDIR")
      what="Debian ${held#,}"
    else
      mkdir -p "$root/www$(dirname "$SERVE_PATH")"
      printf '%s\n' "$SERVE_BODY" >"$root/www$SERVE_PATH"
      [ -f "$root/www/index.html" ] || printf 'lab-local stand-in for %s (%s): it serves only %s (tools/test-images).\n' "$STANDS_IN_FOR" "$UPSTREAM" "$SERVE_PATH" >"$root/www/index.html"
      for d in $DIRS; do mkdir -p "$root$d"; done
      # Upstream healthchecks that call curl get busybox wget behind the same name.
      printf '#!/bin/sh\n# lab stand-in: curl [flags] URL, answered by busybox wget.\nfor a; do u="$a"; done\nexec wget -q -O- "$u"\n' >"$root/usr/bin/curl"
      chmod 0755 "$root/usr/bin/curl"
      # Any arguments (the real program's flags in the compose file) are ignored. One httpd per
      # port: the health endpoint, and any port a TCP probe checks.
      {
        printf '#!/bin/sh\n'
        printf 'echo "lab-local stand-in for %s: not %s; it answers %s on :%s and nothing else" >&2\n' "$UPSTREAM" "$STANDS_IN_FOR" "$SERVE_PATH" "$PORT"
        # As PID 1 a shell (or httpd) ignores SIGTERM unless it traps it: without the trap every
        # `docker stop` (a capture's pause, a rebuild) waited out Docker's 10 s kill timeout.
        printf "trap 'exit 0' TERM INT\\n"
        for p in $EXTRA_PORTS; do printf 'httpd -p %s -h /www\n' "$p"; done
        printf 'httpd -f -p "$STANDIN_PORT" -h /www &\n'
        printf 'wait\n'
      } >"$root/stand-in"
      chmod 0755 "$root/stand-in"
      changes+=(-c "ENV STANDIN_PORT=$PORT" -c 'ENTRYPOINT ["/stand-in"]' -c "LABEL dev.lab.stand-in=$UPSTREAM" -c "LABEL dev.lab.stands-in-for=\"$STANDS_IN_FOR\"")
      EXPOSE="$PORT $EXTRA_PORTS"
      what="stand-in for $STANDS_IN_FOR ($UPSTREAM), serves $SERVE_PATH only"
    fi
    for p in $EXPOSE; do changes+=(-c "EXPOSE $p"); done
    tar --numeric-owner -C "$root" -c . | docker import "${changes[@]}" - "$IMAGE" >/dev/null
    printf '@@image %s %s %s %s\n' "$IMAGE" "$KIND" "$(( $(date +%s) - start ))" "$what"
  )
done
