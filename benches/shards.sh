#!/usr/bin/env bash
# Shards, measured: a sharded night of N generated partners in blocked mode with default
# settings: first the whole ranking as one shard (0/1, the single machine's), then every
# shard of S in turn on this machine (as one node of S would run its own), then the merge;
# and, with ONE_OF, shard 0 of ONE_OF alone (a shard's throughput at the node count of the
# cost model in BENCHMARKS.md). Prints one table: wall, peak RSS,
# partners, stages, and partners per second per core of the rank stage. Wall and memory
# are /usr/bin/time's; stages the shard's or run's manifest.
#
#   bash benches/shards.sh 1000000 4 16
#
# Outputs are deleted once read (the merged night at a million partners is about 10 GB).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 N SHARDS [ONE_OF]" >&2; exit 2; }
cd "$(dirname "$0")/.."
n=$1 shards=$2 one_of=${3:-}
work=benches/out
mkdir -p "$work"
cargo build --release --locked --quiet
bin=target/release/sstc-match
profiles="$work/profiles_$n.parquet"
[ -f "$profiles" ] || "$bin" generate --n "$n" --seed 42 --out "$profiles" --quiet 2>/dev/null
cores=$(nproc)

# measure LABEL MANIFEST -- COMMAND...: runs the command, prints its table row.
measure() {
  local label=$1 manifest=$2
  shift 3
  /usr/bin/time -f '%e %M' -o "$work/shards_time" "$@" 2>/dev/null || [ $? -eq 1 ]
  python3 - "$label" "$manifest" "$work/shards_time" "$cores" <<'PY'
import json, sys
label, manifest, timing, cores = sys.argv[1:]
wall, rss_kb = open(timing).read().split()
m = json.load(open(manifest))
partners = m.get("partners") or m["counts"]["active_partners"]
stages = {t["stage"]: t["seconds"] for t in m["timings"]}
rate = f'{partners / stages["rank"] / int(cores):,.0f}' if "rank" in stages else ""
shown = " · ".join(f"{k} {v:.1f}" for k, v in stages.items())
print(f"| {label} | {float(wall):.1f} | {int(rss_kb) / 1024:,.0f} | {partners:,} | {rate} | {shown} |")
PY
}

printf '| %s partners, blocked | wall s | peak RSS MB | partners | ranked /s/core | stages (s) |\n|---|---|---|---|---|---|\n' "$n"
dir="$work/shards_whole"
rm -rf "$dir"
measure "all (shard 0/1)" "$dir/shard.json" -- "$bin" run --profiles "$profiles" --mode blocked --shard 0/1 --out "$dir" --quiet
rm -rf "$dir"
dirs=()
for ((i = 0; i < shards; i++)); do
  dir="$work/shards_$i"
  rm -rf "$dir"
  measure "shard $i/$shards" "$dir/shard.json" -- "$bin" run --profiles "$profiles" --mode blocked --shard "$i/$shards" --out "$dir" --quiet
  dirs+=("$dir")
done
rm -rf "$work/shards_night"
measure "merge of $shards" "$work/shards_night/manifest.json" -- "$bin" merge "${dirs[@]}" --out "$work/shards_night" --quiet
rm -rf "$work/shards_night" "${dirs[@]}"
if [ -n "$one_of" ]; then
  dir="$work/shards_one"
  rm -rf "$dir"
  measure "shard 0/$one_of" "$dir/shard.json" -- "$bin" run --profiles "$profiles" --mode blocked --shard "0/$one_of" --out "$dir" --quiet
  rm -rf "$dir"
fi
