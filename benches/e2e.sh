#!/usr/bin/env bash
# End-to-end benchmark: generates synthetic profile sets and runs the whole nightly job on
# each, printing one table (rows, wall seconds, peak RSS, scored pairs per second).
#
#   bash benches/e2e.sh                # 10k and 100k
#   bash benches/e2e.sh 2000 10000     # other sizes
#
# Needs only cargo; numbers come from the run manifests (peak RSS is the process's VmHWM).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000)
cargo build --release --quiet
bin=target/release/sstc-match
work=benches/out
mkdir -p "$work"
printf '| rows | wall s | peak RSS MB | pairs scored | pairs/s | stages (s) |\n|---|---|---|---|---|---|\n'
for n in "${sizes[@]}"; do
  profiles="$work/profiles_$n.parquet"
  [ -f "$profiles" ] || "$bin" generate --n "$n" --seed 42 --out "$profiles" 2>/dev/null
  start=$(date +%s.%N)
  "$bin" run --profiles "$profiles" --out "$work/run_$n" --model-dir "$work/run_$n/model" --quiet 2>/dev/null || [ $? -eq 1 ]
  end=$(date +%s.%N)
  python3 - "$work/run_$n/manifest.json" "$n" "$start" "$end" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); n = sys.argv[2]
wall = float(sys.argv[4]) - float(sys.argv[3])
pairs = m["counts"]["pairs_scored"]
stages = " ".join(f'{t["stage"]} {t["seconds"]:.2f}' for t in m["timings"])
print(f'| {n} | {wall:.2f} | {m["peak_rss_mb"]:.0f} | {pairs:,} | {pairs / wall:,.0f} | {stages} |')
PY
done
