#!/usr/bin/env bash
# Before and after: the whole nightly job of two commits on the same generated registries,
# printed as one table (wall, peak memory, recall@10, stage by stage), so that the rows of
# one run of this script can be compared (absolute times drift between runs here).
#
#   bash benches/before_after.sh d94e6db HEAD 100000 1000000
#
# Each commit is built in a git worktree (benches/out/tree_<sha>) sharing this checkout's
# target directory, so only the crate itself is compiled again. Per size, in blocked mode
# (the mode for large registries) with default settings: the before commit, the after
# commit, and the after commit with --formats parquet (PARQUET_ROW=0 leaves that row out).
# Wall time and peak RSS are /usr/bin/time's; recall and stages the run manifest's. Each
# run's output is deleted once read (a million partners write about 10 GB).
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 BEFORE AFTER N..." >&2; exit 2; }
cd "$(dirname "$0")/.."
repo=$(pwd)
before=$(git rev-parse --short "$1")
after=$(git rev-parse --short "$2")
shift 2
work=benches/out
mkdir -p "$work"

build() {
  local sha=$1 tree="$work/tree_$1"
  [ -d "$tree" ] || git worktree add --quiet --detach "$tree" "$sha"
  (cd "$tree" && CARGO_TARGET_DIR="$repo/target" cargo build --release --locked --quiet)
  cp target/release/sstc-match "$work/bin_$sha"
}
build "$before"
build "$after"

runs=("$before|" "$after|")
[ "${PARQUET_ROW:-1}" = 0 ] || runs+=("$after|--formats parquet")

printf '| N | commit | flags | wall s | peak RSS MB | recall@10 | shortlist bytes | stages (s) |\n|---|---|---|---|---|---|---|---|\n'
for n in "$@"; do
  profiles="$work/profiles_$n.parquet"
  [ -f "$profiles" ] || "$work/bin_$after" generate --n "$n" --seed 42 --out "$profiles" --quiet 2>/dev/null
  for run in "${runs[@]}"; do
    sha=${run%%|*}
    flags=${run#*|}
    out="$work/before_after_run"
    rm -rf "$out" "$work/before_after_models"
    # shellcheck disable=SC2086 # the flags are words
    /usr/bin/time -f '%e %M' -o "$work/before_after_time" "$work/bin_$sha" run --profiles "$profiles" --out "$out" \
      --model-dir "$work/before_after_models" --mode blocked --quiet $flags 2>/dev/null || [ $? -eq 1 ]
    python3 - "$out" "$work/before_after_time" "$n" "$sha" "$flags" <<'PY'
import json, os, sys
out, timing, n, sha, flags = sys.argv[1:]
wall, rss_kb = open(timing).read().split()
m = json.load(open(os.path.join(out, "manifest.json")))
recall = (m.get("blocking") or {}).get("recall_at_k")
recall = "" if recall is None else f"{recall:.3f}"
size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out) if f.startswith("shortlist."))
stages = " · ".join(f'{t["stage"]} {t["seconds"]:.1f}' for t in m["timings"])
print(f'| {int(n):,} | {sha} | {flags or "default"} | {float(wall):.1f} | {int(rss_kb) / 1024:.0f} | {recall} | {size / 1e6:,.0f} MB | {stages} |')
PY
    rm -rf "$out"
  done
done
