#!/usr/bin/env bash
# Builds and runs the libFuzzer target for ReproNN's checkpoint reader.
#
#   scripts/fuzz_checkpoint.sh pickle|zip|legacy|safetensors|any [seconds] [extra libFuzzer flags...]
#
# The reader's sources (Sources/ReproNN/Checkpoint) are compiled together with
# scripts/fuzz/FuzzCheckpoint.swift (see scripts/fuzz/build.sh), seeded from
# Tests/Fixtures/checkpoints, and run for the given time (default 600 s).
# Crashing inputs land in .fuzz/checkpoint-<mode>/crash-* (FUZZ_WORK=<dir>
# replaces .fuzz); add each one as a
# regression test (Tests/ReproNNTests/FuzzRegressionTests.swift) and fix it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/fuzz/build.sh
mode="${1:?usage: fuzz_checkpoint.sh pickle|zip|legacy|safetensors|any [seconds]}"
seconds="${2:-600}"
shift $(( $# >= 2 ? 2 : 1 ))
fixtures=Tests/Fixtures/checkpoints
work="${FUZZ_WORK:-.fuzz}"
dir="$work/checkpoint-$mode"
mkdir -p "$dir/corpus"
fuzz_build fuzz-checkpoint scripts/fuzz/FuzzCheckpoint.swift Sources/ReproNN/Checkpoint
# Seeds: the fixtures in the shape the mode expects (see FuzzCheckpoint.swift).
case "$mode" in
    pickle)
        for f in "$fixtures"/*.pth; do
            [[ "$(head -c 2 "$f")" == PK ]] || continue
            # (unzip is optional: without it the pickle mode starts from an empty corpus)
            if command -v unzip > /dev/null; then
                unzip -p "$f" '*/data.pkl' > "$dir/corpus/$(basename "$f").pkl.seed" 2>/dev/null || true
            fi
        done ;;
    zip)
        for f in "$fixtures"/*.pth; do
            [[ "$(head -c 2 "$f")" == PK ]] || continue
            tail -c +5 "$f" > "$dir/corpus/$(basename "$f").seed"
        done ;;
    legacy) tail -c +5 "$fixtures/small_legacy.pth" > "$dir/corpus/small_legacy.seed" ;;
    safetensors) for f in "$fixtures"/*.safetensors; do tail -c +9 "$f" > "$dir/corpus/$(basename "$f").seed"; done ;;
    any) cp "$fixtures"/*.pth "$fixtures"/*.safetensors "$dir/corpus/" ;;
    *) echo "mode must be pickle, zip, legacy, safetensors or any" >&2; exit 2 ;;
esac
cd "$dir"
bin="$(cd ../bin && pwd)"
FUZZ_FORMAT="$mode" "$bin"/fuzz-checkpoint corpus -max_len=8192 -rss_limit_mb=2048 -timeout=10 \
    -max_total_time="$seconds" -print_final_stats=1 "$@"
