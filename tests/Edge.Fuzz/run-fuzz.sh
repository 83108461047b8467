#!/usr/bin/env bash
# Coverage-guided fuzzing of one target with SharpFuzz + AFL++ (Debian's afl++).
#   tests/Edge.Fuzz/run-fuzz.sh TARGET SECONDS     TARGET: pdu | dataset | png | intake | config
# Builds the harness, instruments the Edge.* assemblies, runs afl-fuzz for SECONDS from Corpus/TARGET and prints
# executions and crashes. Findings stay under out/fuzz/TARGET/default/{crashes,hangs}; to keep one, copy it to
# tests/Edge.Fuzz/Regressions/TARGET/ (the suite replays it) and reproduce with:
#   dotnet out/fuzz/build/Edge.Fuzz.dll TARGET FILE   (the uninstrumented build)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."
ROOT=$PWD
target=${1:?usage: run-fuzz.sh pdu|dataset|png|intake|config SECONDS}
seconds=${2:?usage: run-fuzz.sh TARGET SECONDS}
case $target in pdu|dataset|png|intake|config) ;; *) echo "run-fuzz: unknown target $target" >&2; exit 2 ;; esac
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if ! command -v afl-fuzz >/dev/null; then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends afl++ >&2
fi
if [[ ! -x .tools/sharpfuzz ]]; then
  dotnet tool install --tool-path .tools SharpFuzz.CommandLine --version 2.3.0 >&2
fi

out=out/fuzz/$target
bin=$out/bin
# Instrumentation rewrites the assemblies in place: work on a copy, never on the build output the tests use.
dotnet build tests/Edge.Fuzz/Edge.Fuzz.csproj -c Release -nologo -v quiet -o out/fuzz/build >&2
rm -rf "$bin"
mkdir -p "$out"
cp -r out/fuzz/build "$bin"
for assembly in Edge.Dicom Edge.Imaging Edge.Domain Edge.Storage edge-appliance Microsoft.Extensions.Configuration Microsoft.Extensions.Configuration.Json Microsoft.Extensions.Configuration.Binder; do
  [[ -f $bin/$assembly.dll ]] && .tools/sharpfuzz "$bin/$assembly.dll" >&2
done

# Resume if this target has a previous run (afl-fuzz -i - keeps its queue), otherwise start from the seeds.
input=tests/Edge.Fuzz/Corpus/$target
[[ -d $out/default/queue ]] && input=-

# The harness is `dotnet`, not an AFL-compiled binary; SharpFuzz speaks the fork-server protocol from managed code.
# The harness writes each input to a temporary file; a child that dies cannot remove its own, so they stay in out/.
export TMPDIR=$ROOT/$out/tmp
mkdir -p "$TMPDIR"
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
# The PDU target's loopback round trip is slower and less deterministic than the in-memory ones.
timeout_ms=10000
afl-fuzz -i "$input" -o "$out" -t "$timeout_ms" -m none -V "$seconds" -- dotnet "$ROOT/$bin/Edge.Fuzz.dll" "$target" > "$out/afl.log" 2>&1 || {
  echo "run-fuzz: afl-fuzz failed; last lines of $out/afl.log:" >&2
  tail -n 30 "$out/afl.log" >&2
  exit 1
}

stats=$out/default/fuzzer_stats
stat() { awk -F: -v k="$1" '$1 ~ "^"k" *$" {gsub(/ /, "", $2); print $2}' "$stats"; }
crashes=$(find "$out/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
hangs=$(find "$out/default/hangs" -type f -name 'id:*' 2>/dev/null | wc -l)
echo "fuzz $target: $(stat execs_done) executions in $(stat run_time) s ($(stat execs_per_sec) /s), corpus $(stat corpus_count), coverage $(stat bitmap_cvg), crashes $crashes, hangs $hangs"
[[ $crashes -gt 0 ]] && echo "fuzz $target: crashes under $out/default/crashes/ (reproduce: dotnet out/fuzz/build/Edge.Fuzz.dll $target FILE)"
exit 0
