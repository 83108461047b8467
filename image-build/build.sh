#!/usr/bin/env bash
# Builds the appliance packages: for each architecture, the Native AOT binary, its native libraries, the model bundle,
# configuration, systemd unit and udev rule, as edge-appliance_<version>_<arch>.deb with a CycloneDX SBOM beside it.
#   image-build/build.sh [--prebuilt] [arm64|amd64]...   (default: both; from the repository root, as root)
#   --prebuilt: package the binaries already in out/bin/RID (what `./edge test` published minutes before) instead of
#   publishing again (a rebuild of the libraries in between would make the AOT compile run again: minutes).
# Output: out/image/ (debs, SBOMs, sizes.txt); intermediate trees under out/image/build/.
set -euo pipefail
ROOT=$(pwd)
OUT=$ROOT/out/image
WORK=$OUT/build
PREBUILT=0
[[ ${1:-} == --prebuilt ]] && { PREBUILT=1; shift; }
ARCHES=("$@")
((${#ARCHES[@]})) || ARCHES=(amd64 arm64)

# The glibc of the oldest supported target: JetPack 6 is Ubuntu 22.04 (glibc 2.35, libstdc++ from GCC 12).
MAX_GLIBC=2.35
MAX_GLIBCXX=3.4.30

rid_of() { case $1 in arm64) echo linux-arm64 ;; amd64) echo linux-x64 ;; *) echo "unknown arch $1" >&2; exit 2 ;; esac; }
log() { echo "image: $*" >&2; }

# GDCM's managed binding (gdcm-sharp.dll) is compiled into the binary; its SWIG glue must be the same release, so the
# glue and the GDCM libraries it was built against come from Debian at exactly the installed binding's version.
GDCM_VERSION=$(dpkg-query -W -f='${Version}' libgdcm-cil)

publish() {
  local rid=$1 project=$2 out=$3
  if ((PREBUILT)) && [[ -x $out/edge-appliance ]]; then return 0; fi
  dotnet publish "$project" -c Release -r "$rid" -o "$out" -nologo -v quiet >&2
}

# Debian packages for ARCH at the binding's version, unpacked (not installed) under WORK/debs/ARCH.
fetch_gdcm() {
  local arch=$1 dir=$WORK/debs/$arch
  if [[ ! -f $dir/.done-$GDCM_VERSION ]]; then
    if [[ $arch != "$(dpkg --print-architecture)" ]] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
      dpkg --add-architecture "$arch"
      apt-get update -qq
    fi
    rm -rf "$dir" && mkdir -p "$dir/x"
    (cd "$dir" && apt-get download -qq "libgdcm-cil:$arch=$GDCM_VERSION" "libgdcm3.0:$arch=$GDCM_VERSION" 2>/dev/null) ||
      { apt-get update -qq && (cd "$dir" && apt-get download -qq "libgdcm-cil:$arch=$GDCM_VERSION" "libgdcm3.0:$arch=$GDCM_VERSION"); }
    for deb in "$dir"/*.deb; do dpkg -x "$deb" "$dir/x"; done
    touch "$dir/.done-$GDCM_VERSION"
  fi
  echo "$dir/x"
}

# Copies LIB and, transitively, every library it needs that FROM holds (the GDCM libraries), into DEST.
copy_closure() {
  local lib=$1 from=$2 dest=$3 needed
  cp -L "$lib" "$dest/"
  for needed in $(readelf -d -W "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    local found
    found=$(find "$from" -name "$needed" -print -quit)
    if [[ -n $found && ! -e $dest/$needed ]]; then copy_closure "$found" "$from" "$dest"; fi
  done
}

# The highest symbol version (glibc, libstdc++) any shipped ELF file asks for, against what the oldest target has.
check_symbol_versions() {
  local dir=$1 worst_glibc worst_cxx
  worst_glibc=$(find "$dir" -type f -exec sh -c 'readelf -V -W "$1" 2>/dev/null' _ {} \; | grep -o 'GLIBC_2\.[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
  worst_cxx=$(find "$dir" -type f -exec sh -c 'readelf -V -W "$1" 2>/dev/null' _ {} \; | grep -o 'GLIBCXX_3\.[0-9.]*' | sed 's/GLIBCXX_//' | sort -V | tail -1)
  log "highest symbol versions needed: GLIBC_$worst_glibc, GLIBCXX_${worst_cxx:-none} (oldest target: GLIBC_$MAX_GLIBC, GLIBCXX_$MAX_GLIBCXX)"
  if [[ $(printf '%s\n' "$worst_glibc" "$MAX_GLIBC" | sort -V | tail -1) != "$MAX_GLIBC" ]] ||
     [[ -n $worst_cxx && $(printf '%s\n' "$worst_cxx" "$MAX_GLIBCXX" | sort -V | tail -1) != "$MAX_GLIBCXX" ]]; then
    echo "image: a shipped library needs a newer glibc/libstdc++ than JetPack 6 has" >&2
    exit 1
  fi
  echo "$worst_glibc"
}

# Depends: what GDCM's libraries need (Debian's own field, versions included), plus what the binary loads itself.
depends_of() {
  local arch=$1 glibc=$2 gdcm
  gdcm=$(apt-cache show "libgdcm3.0:$arch=$GDCM_VERSION" | sed -n 's/^Depends: //p' | head -1)
  local out=() item
  IFS=',' read -ra items <<<"$gdcm"
  for item in "${items[@]}"; do
    item=$(echo "$item" | sed 's/^ *//; s/ *$//')
    [[ $item == libc6* ]] && continue
    out+=("$item")
  done
  # libc6: the highest glibc symbol version the shipped files need. libssl3: .NET's cryptography (bundle signatures,
  # MQTT TLS) loads it. libturbojpeg0 is Debian's name, libturbojpeg Ubuntu's. passwd: useradd in postinst.
  out=("libc6 (>= $glibc)" "${out[@]}" "libturbojpeg0 | libturbojpeg" "passwd")
  printf '%s\n' "${out[@]}" | sort -u | paste -sd, | sed 's/,/, /g'
}

version=""
build_arch() {
  local arch=$1 rid pub stage lib gdcm glibc depends
  rid=$(rid_of "$arch")
  # Where `./edge publish` puts it too, so a build already done by `./edge test` is reused (the AOT step is incremental).
  pub=$ROOT/out/bin/$rid
  stage=$WORK/stage-$arch
  if ((PREBUILT)); then log "packaging the edge-appliance already published for $rid"; else log "publishing edge-appliance for $rid (Native AOT)"; fi
  publish "$rid" src/Edge.Appliance/Edge.Appliance.csproj "$pub"
  # Each restore rewrites project.assets.json for its runtime: read it now, for this architecture's SBOM (a prebuilt
  # binary's restore may since have been overwritten by another runtime's, so it is redone: same inputs, same graph).
  ((PREBUILT)) && dotnet restore src/Edge.Appliance/Edge.Appliance.csproj -r "$rid" -nologo -v quiet >&2
  cp src/Edge.Appliance/obj/project.assets.json "$WORK/assets-$arch.json"
  grep -q "/$rid\": {" "$WORK/assets-$arch.json" || { echo "image: project.assets.json is not for $rid" >&2; exit 1; }
  if [[ -z $version ]]; then
    # The version the appliance reports is the package's version (run on the build machine's own architecture).
    local native=$pub
    if [[ $arch != "$(dpkg --print-architecture)" ]]; then
      native=$ROOT/out/bin/$(rid_of "$(dpkg --print-architecture)")
      publish "$(rid_of "$(dpkg --print-architecture)")" src/Edge.Appliance/Edge.Appliance.csproj "$native"
    fi
    version=$("$native/edge-appliance" version | awk '{print $2}')
  fi

  rm -rf "$stage"
  local lib_dir=$stage/usr/lib/edge-appliance
  install -d "$lib_dir" "$stage/usr/bin" "$stage/etc/edge" "$stage/lib/systemd/system" "$stage/lib/udev/rules.d" \
    "$stage/usr/share/edge/models/tb-cxr" "$stage/usr/share/doc/edge-appliance" "$stage/DEBIAN"
  install -m 0755 "$pub/edge-appliance" "$lib_dir/"
  # Native libraries the publish put beside the binary (ONNX Runtime, SQLite, serial ports); not appsettings.json:
  # a copy beside the program would shadow /etc/edge/appsettings.json.
  for lib in "$pub"/*.so; do install -m 0644 "$lib" "$lib_dir/"; done
  ln -s ../lib/edge-appliance/edge-appliance "$stage/usr/bin/edge-appliance"

  gdcm=$(fetch_gdcm "$arch")
  copy_closure "$gdcm/usr/lib/cli/gdcm-sharp-3.0/libgdcmsharpglue.so" "$gdcm/usr/lib" "$lib_dir"
  # The private GDCM copies find each other beside themselves, never a system GDCM of another release.
  for lib in "$lib_dir"/libgdcm*; do chmod 0644 "$lib"; patchelf --set-rpath '$ORIGIN' "$lib"; done
  glibc=$(check_symbol_versions "$lib_dir")

  cp -r models/tb-cxr/1.0.0 "$stage/usr/share/edge/models/tb-cxr/"
  install -m 0644 models/keys/dev/bundle-signing.pub.pem "$stage/etc/edge/bundle-signing.pub.pem"
  install -m 0644 src/Edge.Appliance/appsettings.json "$stage/etc/edge/appsettings.json"
  install -m 0644 image-build/systemd/edge-appliance.service "$stage/lib/systemd/system/"
  install -m 0644 hardware/99-edge-console.rules "$stage/lib/udev/rules.d/"
  install -m 0644 image-build/systemd/dicom-port-104.conf image-build/README.md "$stage/usr/share/doc/edge-appliance/"
  find "$stage" -type d -exec chmod 0755 {} +
  find "$stage/usr/share" "$stage/etc" -type f -exec chmod 0644 {} +

  depends=$(depends_of "$arch" "$glibc")
  cat > "$stage/DEBIAN/control" <<EOF
Package: edge-appliance
Version: $version
Architecture: $arch
Maintainer: Edge firmware team <edge@localhost>
Section: science
Priority: optional
Depends: $depends
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Homepage: file:///usr/share/doc/edge-appliance/README.md
Description: TB screening at the X-ray console (AI triage aid, not a diagnosis)
 Screens chest X-rays received over DICOM or from a watched folder with a signed ONNX
 model, shows the result on status lights and a printed slip, records it in SQLite and
 syncs de-identified results over MQTT. Runs as the hardened systemd service
 edge-appliance.service under the user edge; data lives in /var/lib/edge.
EOF
  printf '%s\n' /etc/edge/appsettings.json /etc/edge/bundle-signing.pub.pem > "$stage/DEBIAN/conffiles"
  install -m 0755 image-build/debian/postinst image-build/debian/prerm image-build/debian/postrm "$stage/DEBIAN/"
  (cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum > DEBIAN/md5sums)

  local deb=$OUT/edge-appliance_${version}_$arch.deb
  dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
  log "built $deb"

  local sbom=$OUT/edge-appliance_${version}_$arch.cdx.json
  /usr/bin/python3 image-build/sbom.py --name edge-appliance --version "$version" --arch "$arch" \
    --assets "$WORK/assets-$arch.json" --stage "$stage" --gdcm-version "$GDCM_VERSION" \
    --onnxruntime-version "$(nuget_version Microsoft.ML.OnnxRuntime "$WORK/assets-$arch.json")" --sqlite-version "$(nuget_version SQLitePCLRaw.lib.e_sqlite3 "$WORK/assets-$arch.json")" \
    --depends "$depends" --out "$sbom"
  /usr/bin/python3 image-build/sbom.py --validate "$sbom" --schema-dir "$(cdx_schema_dir)"
  [[ $arch == "$(dpkg --print-architecture)" ]] && check_unit "$stage"
  printf '%s\t%s\t%s\n' "$arch" "$(stat -c %s "$lib_dir/edge-appliance")" "$(stat -c %s "$deb")" >> "$OUT/sizes.tsv"
}

# systemd's own checks of the unit, in a scratch root holding the unit, the staged binary and the host's targets.
check_unit() {
  local stage=$1 check=$WORK/unit-check unit=lib/systemd/system/edge-appliance.service
  if ! command -v systemd-analyze >/dev/null; then log "systemd-analyze not installed: unit not checked"; return 0; fi
  rm -rf "$check" && mkdir -p "$check/lib/systemd/system" "$check/usr/lib/edge-appliance"
  cp /lib/systemd/system/*.target /lib/systemd/system/*.slice "$check/lib/systemd/system/" 2>/dev/null || true
  cp "$stage/$unit" "$check/$unit"
  ln "$stage/usr/lib/edge-appliance/edge-appliance" "$check/usr/lib/edge-appliance/edge-appliance"
  systemd-analyze verify --root="$check" "$check/$unit"
  systemd-analyze security --offline=true --root="$check" "$check/$unit" > "$OUT/unit-security.txt" 2>&1 || true
  log "unit verified (systemd-analyze verify); $(grep -o 'Overall exposure level.*' "$OUT/unit-security.txt")"
}

# The version a package resolved to: from an assets file, else the central version.
nuget_version() {
  if [[ -n ${2:-} ]]; then
    /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(next(k.split("/")[1] for k in d["libraries"] if k.split("/")[0].lower()==sys.argv[2].lower()))' "$2" "$1"
  else
    sed -n "s/.*PackageVersion Include=\"$1\" Version=\"\([^\"]*\)\".*/\1/p" Directory.Packages.props
  fi
}

# The CycloneDX JSON schemas (1.5 and the SPDX licence list it refers to), from the CycloneDX library's npm package.
CDX_LIBRARY=@cyclonedx/cyclonedx-library@10.3.0
cdx_schema_dir() {
  local dir=${XDG_CACHE_HOME:-$HOME/.cache}/edge/cyclonedx-library-10.3.0
  if [[ ! -f $dir/package/res/schema/bom-1.5.SNAPSHOT.schema.json ]]; then
    mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "$CDX_LIBRARY" >/dev/null && tar xzf cyclonedx-cyclonedx-library-10.3.0.tgz package/res/schema)
  fi
  echo "$dir/package/res/schema"
}

# The collector (a server program, amd64 only) is packaged when its project exists.
build_collector() {
  local project=src/Edge.Collector/Edge.Collector.csproj
  [[ -f $project ]] || return 0
  # The suite's run (--prebuilt) verifies the appliance package only; a collector build would add a whole AOT compile.
  ((PREBUILT)) && return 0
  local pub=$WORK/publish/collector-linux-x64 stage=$WORK/stage-collector
  log "publishing edge-collector for linux-x64 (Native AOT)"
  rm -rf "$pub" "$stage" && publish linux-x64 "$project" "$pub"
  install -d "$stage/usr/lib/edge-collector" "$stage/usr/bin" "$stage/DEBIAN"
  local exe
  exe=$(find "$pub" -maxdepth 1 -type f -perm -u+x ! -name '*.so' ! -name '*.dbg' | head -1)
  install -m 0755 "$exe" "$stage/usr/lib/edge-collector/"
  for lib in "$pub"/*.so; do [[ -e $lib ]] && install -m 0644 "$lib" "$stage/usr/lib/edge-collector/"; done
  ln -s "../lib/edge-collector/$(basename "$exe")" "$stage/usr/bin/$(basename "$exe")"
  cat > "$stage/DEBIAN/control" <<EOF
Package: edge-collector
Version: $version
Architecture: amd64
Maintainer: Edge firmware team <edge@localhost>
Section: science
Priority: optional
Depends: libc6 (>= 2.34), libssl3
Description: Provincial collector of de-identified TB screening results from Edge appliances
EOF
  dpkg-deb --root-owner-group -Zxz --build "$stage" "$OUT/edge-collector_${version}_amd64.deb" >/dev/null
  log "built $OUT/edge-collector_${version}_amd64.deb"
}

# The whole run is one compound command, read before it starts: editing this file during a build cannot derail it.
{
mkdir -p "$OUT" "$WORK"
rm -f "$OUT/sizes.tsv" "$OUT"/edge-appliance_*.deb "$OUT"/edge-appliance_*.cdx.json "$OUT"/edge-collector_*.deb
for arch in "${ARCHES[@]}"; do build_arch "$arch"; done
[[ " ${ARCHES[*]} " == *" amd64 "* ]] && build_collector
echo "$version" > "$OUT/version"
{
  printf '%-8s %14s %14s\n' arch "binary (bytes)" ".deb (bytes)"
  while IFS=$'\t' read -r a b d; do printf '%-8s %14s %14s\n' "$a" "$b" "$d"; done < "$OUT/sizes.tsv"
} | tee "$OUT/sizes.txt" >&2
exit
}
