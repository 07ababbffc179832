#!/usr/bin/env bash
# Long fuzz run of one target, measured in CPU time rather than wall time
# (so it can run at low priority beside other work):
#
#   scripts/fuzz-long.sh <target> [cpu-seconds, default 3600]
#
# Builds the targets (scripts/fuzz-smoke.sh), runs <target> with -fork=1,
# the dictionary and a scratch copy of its committed corpus, at nice 19,
# until the fuzzer's processes have used the given CPU time (their own
# plus their reaped children's, read from /proc), then stops it. Prints
# the CPU used and libFuzzer's last status line every minute; crashes go
# to fuzz/artifacts/<target>/ and make the script fail. The committed
# corpus does not change (the grown corpus is left in the scratch dir,
# whose path is printed, for `-merge=1` by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz-long.sh <target> [cpu-seconds]}
budget=${2:-3600}
FUZZ_BUILD_ONLY=1 scripts/fuzz-smoke.sh
triple=$(rustc -vV | sed -n 's/^host: //p')
bin=fuzz/target/$triple/release/$target
scratch=$(mktemp -d "/tmp/fuzz-$target.XXXXXX")
cp -r "fuzz/corpus/$target/." "$scratch/"
mkdir -p "fuzz/artifacts/$target"
log=$scratch.log
echo "== $target: corpus $scratch, log $log, budget ${budget} CPU-s"
# own process group, so the CPU of every process in it can be summed
setsid nice -n 19 "$bin" -fork=1 -ignore_crashes=0 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="fuzz/artifacts/$target/" -dict=fuzz/dict/imap.dict \
    -print_final_stats=1 "$scratch" >"$log" 2>&1 &
pid=$!
tick=$(getconf CLK_TCK)
cpu_of_group() {
    # utime stime cutime cstime are fields 14-17 of /proc/<pid>/stat
    # (after the parenthesized command name, fields 12-15)
    local total=0 f
    for f in /proc/[0-9]*/stat; do
        read -r line <"$f" 2>/dev/null || continue
        rest=${line##*) }
        set -- $rest
        [[ ${3:-} == "$pid" ]] || continue # field 5: process group
        total=$((total + ${12} + ${13} + ${14} + ${15}))
    done
    echo $((total / tick))
}
used=0
last=0
while kill -0 "$pid" 2>/dev/null; do
    used=$(cpu_of_group)
    if ((used >= budget)); then
        kill -INT -- "-$pid" 2>/dev/null || true
        break
    fi
    if ((SECONDS - last >= 60)); then
        last=$SECONDS
        echo "   $(date +%T) cpu ${used}s: $(grep -a -E '#[0-9]+' "$log" | tail -1)"
    fi
    sleep 5
done
status=0
wait "$pid" || status=$?
echo "== $target: ${used} CPU-s in ${SECONDS} s wall"
grep -a -E '#[0-9]+' "$log" | tail -1
grep -a -E '^stat::|INFO: exiting|ERROR|deadly' "$log" | tail -8 || true
shopt -s nullglob
found=(fuzz/artifacts/"$target"/*)
if ((${#found[@]})); then
    echo "== $target: artifacts: ${found[*]}" >&2
    exit 1
fi
# libFuzzer exits 0 or with 72 (-INT) when stopped; anything else is a find
if [[ $status != 0 && $status != 72 && $status != 130 ]]; then
    echo "== $target: fuzzer exited $status; see $log" >&2
    exit 1
fi
