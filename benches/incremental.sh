#!/usr/bin/env bash
# Incremental nights against full runs, measured in one run: a generated registry of N
# partners published with --incremental, then nights that change 0 %, 0.1 %, 1 %, 10 %, 20 % and 35 % of
# it (benches/make_nights.py). Each night runs twice over a copy of the first night: in full,
# and with --incremental; the two shortlists must be the same bytes. Prints one table: wall
# and rank-stage seconds of both and their ratio, how the incremental night ranked (fresh ·
# kept · recomputed partners, or why in full), and the pairs it scored against the full run's.
#
#   bash benches/incremental.sh 100000 [run flags...]
#
# Outputs are deleted once read.
source "$(dirname "$0")/nights_common.sh" incremental "$@"
cp "$base" "$work/night_0.parquet"

"$bin" run --profiles "$base" --out "$work/first" --formats parquet --incremental -q "${flags[@]}" 2>/dev/null || [ $? -eq 1 ]
echo "| night | full: wall (s) | rank (s) | incremental: wall (s) | rank + state (s) | wall ratio | rank ratio | fresh · settled · recomputed | pairs scored | same shortlist |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for night in 0 0.001 0.01 0.1 0.2 0.35; do
  for how in full incremental; do
    rm -rf "$work/$how" && cp -a "$work/first" "$work/$how"
    extra=()
    [ "$how" = incremental ] && extra=(--incremental)
    /usr/bin/time -f '%e' -o "$work/$how.time" "$bin" run --profiles "$work/night_$night.parquet" --out "$work/$how" --formats parquet -q "${flags[@]}" "${extra[@]}" 2>/dev/null || [ $? -eq 1 ]
  done
  same=$(cmp -s "$work/full/shortlist.parquet" "$work/incremental/shortlist.parquet" && echo yes || echo NO)
  "$py" - "$night" "$work" "$same" <<'PY'
import json, sys
night, work, same = sys.argv[1:]
def run(how):
    m = json.load(open(f"{work}/{how}/manifest.json"))
    stages = {t["stage"]: t["seconds"] for t in m["timings"]}
    return float(open(f"{work}/{how}.time").read()), stages["rank"] + stages.get("state", 0.0), m
(full_wall, full_rank, full), (inc_wall, inc_rank, inc) = run("full"), run("incremental")
r = inc["incremental"]
how = f"{r['fresh']:,} · {r['settled']:,} · {r['recomputed']:,}" if r["ranked"] == "incremental" else f"in full: {r['reason']}"
pairs = inc["counts"]["pairs_scored"] / max(full["counts"]["pairs_scored"], 1)
print(f"| {float(night) * 100:g} % changed | {full_wall:.1f} | {full_rank:.1f} | {inc_wall:.1f} | {inc_rank:.1f} | {inc_wall / full_wall:.2f} | {inc_rank / full_rank:.3f} | {how} | {pairs:.4f} | {same} |")
PY
done
rm -rf "$work"
