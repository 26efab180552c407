#!/usr/bin/env bash
# Builds and runs the libFuzzer target for ReproImage's PNG or JPEG decoder.
#
#   scripts/fuzz_image.sh png  [seconds] [extra libFuzzer flags...]
#   scripts/fuzz_image.sh jpeg [seconds] ...
#
# ReproImage's sources are compiled together with scripts/fuzz/FuzzImage.swift
# (see scripts/fuzz/build.sh), seeded from Tests/Fixtures/images, and run for
# the given time (default 600 s). Crashing inputs land in .fuzz/<format>/crash-*
# (FUZZ_WORK=<dir> replaces .fuzz);
# add each one as a regression test (Tests/ReproImageTests/) and fix it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/fuzz/build.sh
format="${1:?usage: fuzz_image.sh png|jpeg [seconds]}"
seconds="${2:-600}"
shift $(( $# >= 2 ? 2 : 1 ))
case "$format" in
    png) pattern='*.png'; skip=8; maxlen=65536 ;;
    # JPEG: 16 KiB keeps a run fast (a 64 KiB progressive photo takes ~50x longer
    # under ASan); the large seeds are cut, which still exercises their headers.
    jpeg) pattern='*.jpg'; skip=3; maxlen=16384 ;;
    *) echo "format must be png or jpeg" >&2; exit 2 ;;
esac
work="${FUZZ_WORK:-.fuzz}"
dir="$work/$format"
mkdir -p "$dir/corpus"
fuzz_build fuzz-image scripts/fuzz/FuzzImage.swift Sources/ReproImage
# Seeds: the fixtures without the signature the target prepends.
for f in Tests/Fixtures/images/$pattern; do
    tail -c +$((skip + 1)) "$f" > "$dir/corpus/$(basename "$f").seed"
done
cd "$dir"
bin="$(cd ../bin && pwd)"
FUZZ_FORMAT="$format" "$bin"/fuzz-image corpus -max_total_time="$seconds" -max_len=$maxlen -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 "$@"
