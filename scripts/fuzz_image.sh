#!/usr/bin/env bash
# Builds and runs the libFuzzer target for ReproImage's PNG or JPEG decoder.
#
#   scripts/fuzz_image.sh png  [seconds] [extra libFuzzer flags...]
#   scripts/fuzz_image.sh jpeg [seconds] ...
#
# The decoder sources are compiled together with scripts/fuzz/FuzzImage.swift
# (`swiftc -sanitize=fuzzer,address`), seeded from Tests/Fixtures/images, and
# run for the given time (default 600 s). Crashing inputs land in
# .fuzz/<format>/crash-*; add each one as a regression test
# (Tests/ReproImageTests/FuzzRegressionTests.swift) before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
format="${1:?usage: fuzz_image.sh png|jpeg [seconds]}"
seconds="${2:-600}"
shift $(( $# >= 2 ? 2 : 1 ))
work=".fuzz"
mkdir -p "$work/src" "$work/$format/corpus"
# One module: ReproImage's sources plus SHA-256, with the module import removed.
rm -f "$work/src/"*.swift
for f in Sources/ReproImage/*.swift Sources/_ReproDigest/*.swift scripts/fuzz/FuzzImage.swift; do
    sed '/^import _ReproDigest$/d' "$f" > "$work/src/$(basename "$f")"
done
if [[ ! -x "$work/fuzz-image" || -n "$(find Sources/ReproImage scripts/fuzz -newer "$work/fuzz-image" -name '*.swift')" ]]; then
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name ReproImageFuzz \
        "$work/src/"*.swift -o "$work/fuzz-image"
fi
case "$format" in
    png) pattern='*.png'; skip=8 ;;
    jpeg) pattern='*.jpg'; skip=3 ;;
    *) echo "format must be png or jpeg" >&2; exit 2 ;;
esac
# Seeds: corpus files without the signature the target prepends.
for f in Tests/Fixtures/images/$pattern; do
    tail -c +$((skip + 1)) "$f" > "$work/$format/corpus/$(basename "$f").seed"
done
cd "$work/$format"
FUZZ_FORMAT="$format" ../fuzz-image corpus -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 "$@"
