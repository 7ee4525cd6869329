#!/usr/bin/env bash
# Fuzzes one of Strata's readers with libFuzzer and the address sanitizer.
#
#   scripts/fuzz.sh TARGET [SECONDS] [LIBFUZZER OPTIONS...]
#   scripts/fuzz.sh all [SECONDS]          # every target in turn
#   scripts/fuzz.sh npy 0 -runs=1000000    # a fixed number of executions
#
# Targets: idx gzip cifar10 npy png safetensors metadata yaml resume export (Fuzz/StrataFuzz);
# metadata varies the __metadata__ of the valid files in Fuzz/bases; resume then
# resumes the checkpoints for a few steps, export exports the classifiers in memory.
# Their seeds pick a base by index: after adding a base, run scripts/fuzz-seeds.py.
# The seed corpus is Fuzz/corpus/TARGET (committed); what the fuzzer learns goes
# to .build-fuzz/corpus/TARGET; a crashing input is saved under
# .build-fuzz/crashes/TARGET/ and the script exits non-zero. Copy such an input
# into Tests/StrataTests/FuzzRegressions/TARGET/ once fixed: the test suite
# replays every file there (FuzzRegressionTests).
#
# The fuzz build is separate from the normal one (.build-fuzz; the target is
# declared only when STRATA_FUZZ is set) and takes about two minutes the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(idx gzip cifar10 npy png safetensors metadata yaml resume export)
target="${1:-}"
seconds="${2:-60}"
shift $(( $# > 2 ? 2 : $# ))

if [[ -z "$target" || ( "$target" != all && ! " ${targets[*]} " =~ " $target " ) ]]; then
    echo "usage: scripts/fuzz.sh TARGET|all [SECONDS] [LIBFUZZER OPTIONS...]" >&2
    echo "targets: ${targets[*]}" >&2
    exit 2
fi

echo "building the fuzz target (libFuzzer + address sanitizer, release)..." >&2
STRATA_FUZZ=1 swift build -c release --product StrataFuzz --build-path .build-fuzz \
    --sanitize=fuzzer --sanitize=address 2>&1 | grep -E "error|warning: unre|Compiling|Build" >&2 || true
binary=.build-fuzz/release/StrataFuzz
[[ -x "$binary" ]] || { echo "the fuzz build failed" >&2; exit 1; }

run_one() {
    local name="$1"; shift
    local work=".build-fuzz/corpus/$name" crashes=".build-fuzz/crashes/$name"
    mkdir -p "$work" "$crashes"
    echo "== $name: ${seconds}s" >&2
    # SWIFT_BACKTRACE off: the runtime's backtracer would stall on each crash.
    SWIFT_BACKTRACE=enable=no STRATA_FUZZ_TARGET="$name" STRATA_FUZZ_BASES=Fuzz/bases ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1" \
        "$binary" "$work" "Fuzz/corpus/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
        -malloc_limit_mb=4096 -artifact_prefix="$crashes/" -print_final_stats=1 "$@" 2>&1 \
        | grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|SUMMARY|crash-|leak-|timeout-|oom-" >&2
    local status=${PIPESTATUS[0]}
    if (( status != 0 )); then echo "$name: the fuzzer found a problem (exit $status); inputs in $crashes" >&2; return 1; fi
}

if [[ "$target" == all ]]; then
    failed=0
    for name in "${targets[@]}"; do run_one "$name" "$@" || failed=1; done
    exit $failed
fi
run_one "$target" "$@"
