#!/usr/bin/env bash
# Before and after: the whole nightly job of two commits on the same generated registries,
# printed as one table (wall, CPU, peak memory, recall@10, stage by stage), so that the rows
# of one run of this script can be compared (absolute times drift between runs here).
#
#   bash benches/before_after.sh d94e6db HEAD 100000 1000000
#   REPEAT=3 PARQUET_ROW=0 FLAGS='--formats parquet' bash benches/before_after.sh d94e6db HEAD 1000000
#
# Each commit is built in a git worktree (benches/out/tree_<sha>) sharing this checkout's
# target directory, so only the crate itself is compiled again. Per size, in blocked mode
# (the mode for large registries) with default settings: the before commit, the after
# commit, and the after commit with --formats parquet (PARQUET_ROW=0 leaves that row out).
# Wall time, CPU time (user + system, both cores) and peak RSS are /usr/bin/time's; recall
# and stages the run manifest's. Each run's output is deleted once read (a million partners
# write about 10 GB).
#
# FLAGS adds flags to every run (e.g. FLAGS='--formats parquet'). REPEAT=R runs the rows R
# times, alternating (before, after, before, after, ...), and ends each size with the median
# wall and CPU time of every row: on these shared machines runs of the same binary vary by
# 5-10 % within two hours (2026-12-05, 1M: 224 to 236 s wall, 416 to 443 s of CPU), so a
# change smaller than that needs the medians of alternated runs.
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

repeat=${REPEAT:-1}
printf '| N | commit | flags | wall s | CPU s | peak RSS MB | recall@10 | shortlist bytes | stages (s) |\n|---|---|---|---|---|---|---|---|---|\n'
for n in "$@"; do
  profiles="$work/profiles_$n.parquet"
  [ -f "$profiles" ] || "$work/bin_$after" generate --n "$n" --seed 42 --out "$profiles" --quiet 2>/dev/null
  # One line per run (row, wall, CPU) for the medians.
  times="$work/before_after_times"
  : > "$times"
  for _ in $(seq "$repeat"); do
    for run in "${runs[@]}"; do
      sha=${run%%|*}
      flags=${run#*|}
      out="$work/before_after_run"
      rm -rf "$out" "$work/before_after_models"
      # shellcheck disable=SC2086 # the flags are words
      /usr/bin/time -f '%e %M %U %S' -o "$work/before_after_time" "$work/bin_$sha" run --profiles "$profiles" --out "$out" \
        --model-dir "$work/before_after_models" --mode blocked --quiet ${FLAGS:-} $flags 2>/dev/null || [ $? -eq 1 ]
      python3 - "$out" "$work/before_after_time" "$n" "$sha" "$flags" "$times" <<'PY'
import json, os, sys
out, timing, n, sha, flags, times = sys.argv[1:]
# The flags of every run (FLAGS) with the row's own, as the run was given them.
flags = " ".join((os.environ.get("FLAGS", "") + " " + flags).split()) or "default"
wall, rss_kb, user, system = open(timing).read().split()
cpu = float(user) + float(system)
m = json.load(open(os.path.join(out, "manifest.json")))
recall = (m.get("blocking") or {}).get("recall_at_k")
recall = "" if recall is None else f"{recall:.3f}"
size = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out) if f.startswith("shortlist."))
stages = " · ".join(f'{t["stage"]} {t["seconds"]:.1f}' for t in m["timings"])
print(f'| {int(n):,} | {sha} | {flags} | {float(wall):.1f} | {cpu:.1f} | {int(rss_kb) / 1024:.0f} | {recall} | {size / 1e6:,.0f} MB | {stages} |')
with open(times, "a") as f:
    f.write(f"{sha}|{flags}\t{wall}\t{cpu}\n")
PY
      rm -rf "$out"
    done
  done
  [ "$repeat" = 1 ] || python3 - "$times" "$n" <<'PY'
import statistics, sys
times, n = sys.argv[1:]
rows = {}
for line in open(times):
    row, wall, cpu = line.rstrip("\n").split("\t")
    rows.setdefault(row, []).append((float(wall), float(cpu)))
for row, runs in rows.items():
    sha, flags = row.split("|")
    wall = statistics.median(w for w, _ in runs)
    cpu = statistics.median(c for _, c in runs)
    print(f"| {int(n):,} | {sha} | {flags}, median of {len(runs)} | {wall:.1f} | {cpu:.1f} | | | | |")
PY
done
