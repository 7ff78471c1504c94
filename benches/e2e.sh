#!/usr/bin/env bash
# End-to-end benchmark: generates synthetic profile sets and runs the whole nightly job on
# each, in each mode, printing one table (rows, mode, wall seconds, peak RSS, pairs scored,
# pairs per second, blocked recall@10 against exact on a sample, stage times).
#
#   bash benches/e2e.sh                          # 10k and 100k, exact and blocked
#   MODES=blocked bash benches/e2e.sh 1000000    # other sizes or modes
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
modes=(${MODES:-exact blocked})
printf '| rows | mode | wall s | peak RSS MB | pairs scored | pairs/s | recall@10 | stages (s) |\n|---|---|---|---|---|---|---|---|\n'
for n in "${sizes[@]}"; do
  profiles="$work/profiles_$n.parquet"
  [ -f "$profiles" ] || "$bin" generate --n "$n" --seed 42 --out "$profiles" 2>/dev/null
  for mode in "${modes[@]}"; do
    out="$work/run_${n}_$mode"
    start=$(date +%s.%N)
    "$bin" run --profiles "$profiles" --out "$out" --model-dir "$work/models_${n}_$mode" --mode "$mode" --quiet 2>/dev/null || [ $? -eq 1 ]
    end=$(date +%s.%N)
    python3 - "$out/manifest.json" "$n" "$mode" "$start" "$end" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); n, mode = sys.argv[2], sys.argv[3]
wall = float(sys.argv[5]) - float(sys.argv[4])
pairs = m["counts"]["pairs_scored"]
recall = (m.get("blocking") or {}).get("recall_at_k")
recall = "exact" if recall is None else f"{recall:.3f}"
stages = " ".join(f'{t["stage"]} {t["seconds"]:.2f}' for t in m["timings"])
print(f'| {n} | {mode} | {wall:.2f} | {m["peak_rss_mb"]:.0f} | {pairs:,} | {pairs / wall:,.0f} | {recall} | {stages} |')
PY
  done
done
