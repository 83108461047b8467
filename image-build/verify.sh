#!/usr/bin/env bash
# Verifies the arm64 package in a minimal Debian bookworm arm64 root filesystem under qemu-user:
#   install with dpkg/apt, every shipped library resolves (ldd), `selftest` passes as the service user, `screen` of the
#   shared DICOM samples gives the same scores as the amd64 build on this machine (within 1e-4), an upgrade keeps the
#   data and a changed /etc/edge/appsettings.json, remove keeps the data, purge removes it.
#   image-build/verify.sh      (after image-build/build.sh; root; run from the repository root)
set -euo pipefail
ROOT=$(pwd)
OUT=$ROOT/out/image
SAMPLES=$ROOT/../shared/data/dicom
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/edge/image
TOLERANCE=1e-4
log() { echo "verify: $*" >&2; }

# One compound command, read before it starts: editing this file during a run cannot derail it.
{
version=$(cat "$OUT/version")
deb=$OUT/edge-appliance_${version}_arm64.deb
x64=$OUT/build/stage-amd64
[[ -f $deb && -x $x64/usr/lib/edge-appliance/edge-appliance ]] || { echo "verify: build both packages first (./edge image)" >&2; exit 1; }
mapfile -t samples < <(find "$SAMPLES" -maxdepth 1 -name '*.dcm' | sort)
((${#samples[@]})) || { echo "verify: no DICOM samples in $SAMPLES" >&2; exit 1; }

# The rootfs holds the package's Depends (first alternatives; libc6 is in every base), so it is rebuilt exactly when
# they change, and reused otherwise.
mapfile -t depends < <(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/ //g' | grep -v '^libc6$' | grep .)
base=$(image-build/rootfs.sh "$CACHE" "${depends[@]}")
image-build/binfmt.sh

# The cached rootfs stays pristine: the run sees it through an overlay whose upper layer (this run's changes, the
# results included) is under out/image/verify/upper.
work=$OUT/verify
rm -rf "$work" && mkdir -p "$work/upper" "$work/overlay-work" "$work/rootfs"
upper=$work/upper
log "using the cached rootfs $(basename "$base")"
mkdir -p "$upper/srv/edge-verify/samples"
cp "$deb" "$upper/srv/edge-verify/"
cp "${samples[@]}" "$upper/srv/edge-verify/samples/"

# The newer package: the same files under a higher version, as a field upgrade would bring.
newer_version="$version+verify1"
repack=$work/repack
dpkg-deb -R "$deb" "$repack"
sed -i "s/^Version: .*/Version: $newer_version/" "$repack/DEBIAN/control"
dpkg-deb --root-owner-group -Znone --build "$repack" "$upper/srv/edge-verify/newer.deb" >/dev/null

# ONNX Runtime reads /proc/cpuinfo to pick kernels and refuses the host's x86 one under qemu: an arm64 one (features
# qemu emulates) is bind-mounted over it, in a private mount namespace so nothing outside sees it.
cpus=$(nproc)
for ((i = 0; i < cpus; i++)); do
  printf 'processor\t: %d\nBogoMIPS\t: 62.50\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$i"
done > "$work/cpuinfo"

cat > "$upper/srv/edge-verify/inside.sh" <<'EOF'
#!/bin/sh
# Runs inside the arm64 rootfs (every program here is arm64, run by qemu through binfmt_misc).
set -eu
# As the service runs: its user, its home, the environment its (installed) unit sets.
unit_env() { sed -n 's/^Environment=//p' /lib/systemd/system/edge-appliance.service; }
as_edge() { setpriv --reuid=edge --regid=edge --init-groups env HOME=/var/lib/edge $(unit_env) "$@"; }
step() { echo "=== $*"; }

step "install $(dpkg-deb -f /srv/edge-verify/edge-appliance_*_arm64.deb Package Version Architecture | tr '\n' ' ')"
apt-get install -y -q --no-install-recommends /srv/edge-verify/edge-appliance_*_arm64.deb >/srv/edge-verify/apt.log 2>&1 ||
  { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends /srv/edge-verify/edge-appliance_*_arm64.deb >/srv/edge-verify/apt.log 2>&1; } ||
  { cat /srv/edge-verify/apt.log; exit 1; }
id edge
test "$(stat -c %U:%G:%a /var/lib/edge)" = edge:edge:750
test -L /etc/systemd/system/multi-user.target.wants/edge-appliance.service

step "libraries resolve (ldd)"
missing=0
for f in /usr/lib/edge-appliance/*; do
  if ldd "$f" | grep -q 'not found'; then echo "$f:"; ldd "$f" | grep 'not found'; missing=1; fi
done
test $missing = 0 && echo "all $(ls /usr/lib/edge-appliance | wc -l) files resolve"

step "edge-appliance version"
edge-appliance version
step "edge-appliance selftest (as user edge, with the unit's environment: $(unit_env | tr '\n' ' '))"
as_edge edge-appliance selftest --config /etc/edge/appsettings.json 2>/srv/edge-verify/selftest.err || { cat /srv/edge-verify/selftest.err; exit 1; }
step "edge-appliance screen (as user edge)"
as_edge edge-appliance screen --config /etc/edge/appsettings.json --format jsonl /srv/edge-verify/samples/*.dcm > /srv/edge-verify/arm64.jsonl 2>/srv/edge-verify/screen.err ||
  { cat /srv/edge-verify/screen.err; exit 1; }
cat /srv/edge-verify/arm64.jsonl | cut -c1-160
# ONNX Runtime says so on stderr when its telemetry starts without CA certificates (as here): it must not start.
if grep -i telemetry /srv/edge-verify/selftest.err /srv/edge-verify/screen.err; then echo "ONNX Runtime telemetry started"; exit 1; fi
echo "ONNX Runtime telemetry off"

step "upgrade keeps data and a changed configuration"
sed -i 's/"site-dev"/"site-upgrade-check"/' /etc/edge/appsettings.json
echo keep > /var/lib/edge/marker
before=$(sha256sum /var/lib/edge/edge.db | cut -d' ' -f1)
dpkg -i /srv/edge-verify/newer.deb </dev/null
test "$(dpkg-query -W -f='${Version}' edge-appliance)" = "$(dpkg-deb -f /srv/edge-verify/newer.deb Version)"
grep -q '"site-upgrade-check"' /etc/edge/appsettings.json
test "$(cat /var/lib/edge/marker)" = keep
test "$(sha256sum /var/lib/edge/edge.db | cut -d' ' -f1)" = "$before"
as_edge edge-appliance selftest --config /etc/edge/appsettings.json >/dev/null
echo "upgraded to $(dpkg-query -W -f='${Version}' edge-appliance): configuration, record and data kept; selftest passes"

step "remove keeps data, purge removes it"
dpkg -r edge-appliance >/dev/null
test -f /var/lib/edge/edge.db && test -f /etc/edge/appsettings.json && test ! -e /usr/lib/edge-appliance/edge-appliance
test ! -e /etc/systemd/system/multi-user.target.wants/edge-appliance.service
dpkg --purge edge-appliance >/dev/null
test ! -e /var/lib/edge && test ! -e /etc/edge
echo "remove: data and configuration kept, service disabled; purge: both gone"
EOF
chmod 0755 "$upper/srv/edge-verify/inside.sh"

log "running the arm64 checks under qemu-aarch64 ($(qemu-aarch64-static --version | head -1))"
start=$(date +%s)
# Mount namespace: the overlay, /proc (with the arm64 cpuinfo over it), /dev and /sys vanish with it. The network is
# the host's (apt may fetch a dependency the cache lacks); selftest's port check briefly binds the DICOM port 11112.
unshare -m --propagation private sh -c '
  set -e
  base=$1 work=$2 cpuinfo=$3 root=$2/rootfs
  mount -t overlay overlay -o "lowerdir=$base,upperdir=$work/upper,workdir=$work/overlay-work" "$root"
  mount -t proc proc "$root/proc"
  mount --bind "$cpuinfo" "$root/proc/cpuinfo"
  mount --bind /dev "$root/dev"
  mount -t sysfs -o ro sysfs "$root/sys" 2>/dev/null || mount --bind -o ro /sys "$root/sys"
  exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /srv/edge-verify/inside.sh
' _ "$base" "$work" "$work/cpuinfo" 2>&1 | tee "$work/inside.log"
log "arm64 checks took $(($(date +%s) - start)) s"

# The same samples through the amd64 build on this machine, with the packaged model, key and configuration.
ref=$work/amd64
mkdir -p "$ref/data"
sed -e "s|/usr/share/edge/models/tb-cxr|$x64/usr/share/edge/models/tb-cxr|" -e "s|/etc/edge/|$x64/etc/edge/|" \
    -e "s|/var/lib/edge|$ref/data|g" "$x64/etc/edge/appsettings.json" > "$ref/appsettings.json"
"$x64/usr/lib/edge-appliance/edge-appliance" screen --config "$ref/appsettings.json" --format jsonl "${samples[@]}" > "$ref/amd64.jsonl"

/usr/bin/python3 - "$work/upper/srv/edge-verify/arm64.jsonl" "$ref/amd64.jsonl" "$TOLERANCE" <<'EOF'
import json, os, sys
arm = {os.path.basename(l["file"]): l for l in map(json.loads, open(sys.argv[1]))}
x64 = {os.path.basename(l["file"]): l for l in map(json.loads, open(sys.argv[2]))}
tolerance = float(sys.argv[3])
bad = 0
outcome = lambda l: "-" if l is None else f"{l['status']}/{l.get('decision') or ','.join(l['qc']['codes']) or '-'}"
print(f"{'file':<36} {'arm64 (qemu)':>14} {'amd64':>14} {'|diff|':>10}  status/decision (arm64 | amd64)")
for name in sorted(x64):
    a, x = arm.get(name), x64[name]
    sa, sx = (a or {}).get("score"), x.get("score")
    same = a is not None and a["status"] == x["status"] and a.get("decision") == x.get("decision") and \
        a["qc"]["codes"] == x["qc"]["codes"] and (
        (sa is None and sx is None) or (sa is not None and sx is not None and abs(sa - sx) <= tolerance))
    diff = f"{abs(sa - sx):.2e}" if sa is not None and sx is not None else "-"
    fmt = lambda s: f"{s:.8f}" if s is not None else "-"
    print(f"{name:<36} {fmt(sa):>14} {fmt(sx):>14} {diff:>10}  {outcome(a)} | {outcome(x)}  {'same' if same else 'DIFFERENT'}")
    bad += not same
if len(arm) != len(x64) or not x64 or bad:
    sys.exit("verify: arm64 and amd64 results differ")
print(f"verify: {len(x64)} sample(s): same status, decision and QC codes; scores (0-100 scale, as reported) within {tolerance}")
EOF
log "passed"
exit
}
