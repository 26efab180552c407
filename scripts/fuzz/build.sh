#!/usr/bin/env bash
# Shared by the fuzz scripts: builds one libFuzzer binary.
#
#   source scripts/fuzz/build.sh
#   fuzz_build <binary-name> <harness.swift> <source dir>...
#
# SwiftPM has no libFuzzer mode, so each harness is compiled with `swiftc
# -sanitize=fuzzer,address` as ONE module together with the Swift sources of
# the library directories it tests and of `_ReproDigest` (their `import
# _ReproDigest` lines are dropped; the harness may use internal API). The C
# target `_ReproDigestAccel` is compiled with clang (ASan + coverage) and
# imported through a generated module map, exactly as SwiftPM would.
# The binary lands in $FUZZ_WORK/bin/<name> (FUZZ_WORK defaults to .fuzz); it
# is rebuilt when any input is newer.
set -euo pipefail

fuzz_build() {
    local name="$1" harness="$2"
    shift 2
    local root work bin
    root="$(pwd)"
    work="$root/${FUZZ_WORK:-.fuzz}/build/$name"
    bin="$root/${FUZZ_WORK:-.fuzz}/bin/$name"
    local dirs=("$@" Sources/_ReproDigest)
    # Several fuzzers may start at once: one builds, the others wait for it.
    mkdir -p "$root/${FUZZ_WORK:-.fuzz}"
    exec {lock}>"$root/${FUZZ_WORK:-.fuzz}/build-$name.lock"
    flock "$lock"
    if [[ -x "$bin" && -z "$(find "${dirs[@]}" Sources/_ReproDigestAccel "$harness" scripts/fuzz/build.sh -newer "$bin" -type f | head -1)" ]]; then
        flock -u "$lock"
        return 0
    fi
    echo "== building fuzzer $name" >&2
    rm -rf "$work"
    mkdir -p "$work/src" "$work/accel" "$(dirname "$bin")"
    cat > "$work/accel/module.modulemap" <<MAP
module _ReproDigestAccel {
    header "$root/Sources/_ReproDigestAccel/include/ReproDigestAccel.h"
    export *
}
MAP
    clang -c -O2 -g -fsanitize=address,fuzzer-no-link -I Sources/_ReproDigestAccel/include \
        Sources/_ReproDigestAccel/sha256_shani.c -o "$work/accel/sha256_shani.o"
    local f
    for f in "${dirs[@]/%//*.swift}" "$harness"; do
        for g in $f; do
            # Unique names: two directories may hold files with the same name.
            sed '/^import _ReproDigest$/d' "$g" > "$work/src/$(echo "${g%.swift}" | tr '/' '_').swift"
        done
    done
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name "Fuzz_${name//-/_}" \
        -I "$work/accel" "$work/src/"*.swift "$work/accel/sha256_shani.o" -o "$bin" 2>&1 \
        | { grep -v "ld.gold: warning: Cannot export local symbol '__asan" || true; } >&2
    # (ld.gold warns once per ASan helper symbol; harmless, and it buries real errors.)
    [[ ${PIPESTATUS[0]} == 0 ]] || { echo "fuzzer $name failed to build" >&2; return 1; }
    flock -u "$lock"
}
