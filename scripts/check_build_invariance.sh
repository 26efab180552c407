#!/usr/bin/env bash
# Builds the tensor probe (scripts/tensor-probe, which depends on Repro by path)
# in debug and release, with and without the AVX2/FMA code-generation flags
# (REPRO_NO_ISA_FLAGS=1 drops them, see Package.swift), runs each build and
# checks that all of them print the same SHA-256 over every kernel's output
# (`probe`), over every ReproRandom stream family (`probe-random`: torch,
# NumPy, Python) and over ReproImage's decoding of every PNG/JPEG fixture,
# orientation, drawing and PNG encoding (`probe-image`).
# Also checks from each variant's llbuild manifest that it really was built
# with (or without) -mavx2. Every build runs twice: with the kernel path the
# CPU allows (AVX-512 tiles where it has AVX-512F) and with REPRO_ISA=avx2
# forcing the compiled Swift kernels; the probe prints which path it took
# (`kernel-isa …`) and both runs must print the same hashes. Exit status 0 =
# identical. `--only debug-isa-on,release-isa-on` builds a subset.
# Recorded 2026-12-03 (all four builds): probe 614eea79…0eba,
# probe-random 456da12c…ea76, probe-image 1057e44e…2184. The same three
# hashes on 2026-12-03 17:17 UTC from release-isa-on (`--only release-isa-on`,
# AMD EPYC with AVX-512F) on the AVX-512 path and with REPRO_ISA=avx2.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
probe="$here/tensor-probe"
scratch="${REPRO_PROBE_SCRATCH:-$probe/.build-variants}"
arch="$(uname -m)"
only=""
[[ "${1:-}" == --only ]] && only=",${2:-},"
declare -A hashes
status=0
for config in debug release; do
  for isa in on off; do
    name="$config-isa-$isa"
    [[ -n "$only" && "$only" != *",$name,"* ]] && continue
    env=()
    [[ "$isa" == off ]] && env=(REPRO_NO_ISA_FLAGS=1)
    log="$scratch/$name.log"
    mkdir -p "$scratch"
    # SwiftPM may keep a stale build plan for a path dependency whose files
    # changed; drop it so every run compiles the current sources.
    rm -f "$scratch/$name/$config.yaml" "$scratch/$name/$config/description.json"
    echo "== building $name" >&2
    env "${env[@]}" swift build --package-path "$probe" -c "$config" --scratch-path "$scratch/$name" -v >"$log" 2>&1 \
      || { echo "build $name failed, see $log" >&2; exit 2; }
    # The llbuild manifest holds every compile command of the variant.
    plan="$scratch/$name/$config.yaml"
    if [[ "$arch" == x86_64 ]]; then
      if [[ "$isa" == on ]] && ! grep -q -- "-mavx2" "$plan"; then echo "$name: -mavx2 missing from $plan" >&2; exit 2; fi
      if [[ "$isa" == off ]] && grep -q -- "-mavx2" "$plan"; then echo "$name: -mavx2 present in $plan although disabled" >&2; exit 2; fi
    fi
    # Default kernel path, then the compiled Swift kernels forced.
    for path in default avx2; do
      run="$name"
      penv=(env -u REPRO_ISA)
      [[ "$path" == avx2 ]] && { run="$name-REPRO_ISA=avx2"; penv=(env REPRO_ISA=avx2); }
      out="$("${penv[@]}" "$scratch/$name/$config/tensor-probe" --verbose --images "$here/../Tests/Fixtures/images")" \
        || { echo "$run: the probe failed: $(echo "$out" | tail -n 3)" >&2; exit 2; }
      echo "$out" > "$scratch/$run.out"
      hashes[$run]="$(echo "$out" | awk '/^probe(-random|-image)? /{printf "%s%s", sep, $0; sep=" "}')"
      [[ "$(echo "$out" | grep -cE '^probe(-random|-image)? [0-9a-f]{64}$')" == 3 ]] \
        || { echo "$run: the probe did not print its three hashes, see $scratch/$run.out" >&2; exit 2; }
      kernel="$(echo "$out" | awk '/^kernel-isa /{print $2}')"
      [[ "$path" == avx2 && "$kernel" == avx512 ]] && { echo "$run: REPRO_ISA=avx2 still ran the AVX-512 kernels" >&2; exit 2; }
      echo "$run (kernels: $kernel) ${hashes[$run]}"
    done
  done
done
first="$(for k in "${!hashes[@]}"; do echo "$k"; done | sort | head -n 1)"
first="${hashes[$first]}"
for k in "${!hashes[@]}"; do
  if [[ "${hashes[$k]}" != "$first" ]]; then
    echo "MISMATCH: $k differs; per-op hashes in $scratch/*.out" >&2
    status=1
  fi
done
[[ $status == 0 ]] && echo "identical: all ${#hashes[@]} builds print $first"
exit $status
