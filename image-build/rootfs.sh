#!/usr/bin/env bash
# Creates (or reuses) a minimal Debian bookworm arm64 root filesystem for verifying the arm64 .deb under qemu-user.
#   image-build/rootfs.sh CACHE_DIR PACKAGE...    prints the rootfs path
# The rootfs is keyed by the suite, the arch and the package list, so a changed Depends makes a fresh one and an
# unchanged one is reused (first build: debootstrap --foreign, then the second stage under qemu-aarch64-static).
set -euo pipefail
cache=$1; shift
suite=bookworm
# The mirror apt already uses on this machine (deb822 or one-line sources), so it works wherever apt works.
mirror=$(grep -rhoE '^URIs:\s*\S+|^deb\s+(\[[^]]*\]\s+)?\S+' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
  /etc/apt/sources.list.d/*.list 2>/dev/null | grep -m1 -E '/debian/?$' | awk '{print $NF}' || true)
mirror=${mirror:-http://deb.debian.org/debian}
key=$(printf '%s\n' "$suite" arm64 "$@" | sort | sha256sum | cut -c1-16)
root=$cache/rootfs-$suite-arm64-$key
if [[ -f $root/.complete ]]; then echo "$root"; exit 0; fi

image-build/binfmt.sh
rm -rf "$root" "$root.tmp"
mkdir -p "$cache"
include=$(IFS=,; echo "$*")
echo "image: debootstrap $suite arm64 from $mirror (first stage)" >&2
debootstrap --foreign --arch=arm64 --variant=minbase ${include:+--include="$include"} "$suite" "$root.tmp" "$mirror" >&2
echo "image: debootstrap second stage under qemu" >&2
chroot "$root.tmp" /debootstrap/debootstrap --second-stage >&2
echo "deb $mirror $suite main" > "$root.tmp/etc/apt/sources.list"
rm -rf "$root.tmp/var/cache/apt/archives/"*.deb
touch "$root.tmp/.complete"
mv "$root.tmp" "$root"
echo "$root"
