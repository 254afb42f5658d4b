#!/usr/bin/env bash
# Runs every cargo-fuzz target (or the ones named) for SECONDS each, two at a
# time, from the committed corpus plus seeds made from ../shared/data, and
# reports executions, corpus size and crashes per target.
#   fuzz/run.sh SECONDS [TARGET...]   (FUZZ_JOBS=N targets at once, default 2)
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`). Works on the stable
# toolchain (RUSTC_BOOTSTRAP for cargo-fuzz's flags) without a sanitizer:
# the project forbids unsafe code, so a crash is a panic, an abort, a stack
# overflow, a timeout or memory beyond the limit.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:?usage: fuzz/run.sh SECONDS [TARGET...]}"
shift
export RUSTC_BOOTSTRAP=1
targets=("$@")
python3 seed.py >/dev/null
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
  # every target in one build: one cargo run links them side by side
  cargo fuzz build --sanitizer none -O >/dev/null
else
  for t in "${targets[@]}"; do cargo fuzz build --sanitizer none -O "$t" >/dev/null; done
fi
logs="logs/$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$logs"
run_one() {
  local t="$1"
  mkdir -p "corpus/$t" "artifacts/$t"
  local seed="seeds/$t"; [ -d "$seed" ] || seed=""
  # -rss_limit_mb: a parser must not need more than this for any input
  cargo fuzz run --sanitizer none -O "$t" "corpus/$t" $seed -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 >"$logs/$t.log" 2>&1 || true
}
pids=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "${FUZZ_JOBS:-2}" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait
fail=0
printf '%-16s %8s %12s %8s %s\n' target seconds executions corpus crashes
for t in "${targets[@]}"; do
  execs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$logs/$t.log" | grep -o '[0-9]*$' || echo '?')
  crashes=$(find "artifacts/$t" -type f | wc -l)
  corpus=$(find "corpus/$t" -type f | wc -l)
  printf '%-16s %8s %12s %8s %s\n' "$t" "$secs" "${execs:-?}" "$corpus" "$crashes"
  if [ "$crashes" -gt 0 ] || grep -aq 'ERROR: libFuzzer\|panicked at' "$logs/$t.log"; then
    fail=1
    echo "  $t: see fuzz/$logs/$t.log and fuzz/artifacts/$t" >&2
    grep -a -m3 'panicked at\|ERROR: libFuzzer\|Test unit written' "$logs/$t.log" >&2 || true
  fi
done
exit $fail
