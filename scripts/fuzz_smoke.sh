#!/usr/bin/env bash
# CI smoke test of every fuzz target: builds the libFuzzer binaries
# (scripts/fuzz/build.sh) and runs each mode for a few seconds from its seed
# corpus. Fails when a target no longer builds or any run reports a finding
# (crash, sanitizer report, leak, timeout, out-of-memory). About 2–3 minutes
# on 2 cores, most of it compiling.
#
#   scripts/fuzz_smoke.sh [seconds per mode, default 10]
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
# Its own work folder: never touches the corpora of longer runs in .fuzz/.
export FUZZ_WORK=.fuzz/smoke
mkdir -p "$FUZZ_WORK"
status=0
for target in "image png" "image jpeg" "checkpoint pickle" "checkpoint zip" "checkpoint legacy" "checkpoint safetensors"; do
    set -- $target
    log="$FUZZ_WORK/$2.log"
    if bash "scripts/fuzz_$1.sh" "$2" "$seconds" > "$log" 2>&1; then
        echo "fuzz $1/$2: $(awk '/stat::number_of_executed_units/{print $2}' "$log") runs in ${seconds} s, no finding"
    else
        tail -n 80 "$log"
        echo "fuzz $1/$2 FAILED (log: $log)"
        status=1
    fi
done
exit $status
