#!/usr/bin/env bash
# Registers qemu-aarch64-static with binfmt_misc (flag F: the kernel opens the interpreter now, so it also runs
# inside a chroot that lacks it). Idempotent; needs root.
set -euo pipefail
dir=/proc/sys/fs/binfmt_misc
[[ -f $dir/register ]] || mount -t binfmt_misc binfmt_misc "$dir"
[[ -f $dir/qemu-aarch64 ]] && grep -q '^enabled' "$dir/qemu-aarch64" && exit 0
[[ -f $dir/qemu-aarch64 ]] && echo -1 > "$dir/qemu-aarch64"
magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
echo ":qemu-aarch64:M::$magic:$mask:/usr/bin/qemu-aarch64-static:F" > "$dir/register"
