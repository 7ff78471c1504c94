#!/usr/bin/env bash
# Nights, measured: a generated registry of N partners, then nights that change a share of it
# (a third of the share removed, a third added as copies under new ids, a third with another
# partner's needs), and two nights that drifted: 70 % of the partners of half the countries
# gone; half the partners needing and offering one more theme, the rarest. Each night runs against the first with --previous. Prints one table: wall,
# peak memory, the changes stage, the rows of changes.csv, and how the clusters continued
# (kept or refitted, the previous centroids' inertia on tonight's sample over the refit's,
# and the share of partners listed both nights whose cluster number changed; "afresh": the
# same night without a previous run, numbered by its own fit).
#
#   bash benches/nights.sh 100000 [run flags...]
#
# Outputs are deleted once read.
source "$(dirname "$0")/nights_common.sh" nights "$@"

clusters() { # partner_id → partner_cluster of a run's shortlist
  "$py" -c "import polars as pl, sys; pl.read_parquet(sys.argv[1] + '/shortlist.parquet', columns=['partner_id','partner_cluster']).unique().write_parquet(sys.argv[2])" "$1" "$2"
}
"$bin" run --profiles "$base" --out "$work/first" --formats parquet -q "${flags[@]}" 2>/dev/null || [ $? -eq 1 ]
clusters "$work/first" "$work/first_clusters.parquet"
echo "| night | wall (s) | peak (MB) | changes stage (s) | entered · left · moved | lists changed | clusters | inertia previous / refit | partners renumbered | afresh: renumbered |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for night in 0.001 0.01 0.1 drift boom; do
  profiles="$work/night_$night.parquet"
  /usr/bin/time -f '%e %M' -o "$work/time" "$bin" run --profiles "$profiles" --out "$work/tonight" --previous "$work/first" --formats parquet -q "${flags[@]}" 2>/dev/null || [ $? -eq 1 ]
  "$bin" run --profiles "$profiles" --out "$work/afresh" --formats parquet -q "${flags[@]}" 2>/dev/null || [ $? -eq 1 ]
  clusters "$work/tonight" "$work/tonight_clusters.parquet"
  clusters "$work/afresh" "$work/afresh_clusters.parquet"
  "$py" - "$night" "$work" <<'PY'
import json, sys
import polars as pl
night, work = sys.argv[1:]
wall, rss = open(f"{work}/time").read().split()
m = json.load(open(f"{work}/tonight/manifest.json"))
stages = {t["stage"]: t["seconds"] for t in m["timings"]}
c, k = m["changes"], m["model"]["continuity"]
first = pl.read_parquet(f"{work}/first_clusters.parquet")
def renumbered(run):
    both = first.join(pl.read_parquet(f"{work}/{run}_clusters.parquet"), on="partner_id", suffix="_tonight")
    return (both["partner_cluster"] != both["partner_cluster_tonight"]).mean()
label = {"drift": "70 % of half the countries gone", "boom": "half the partners take up a rare theme"}.get(night) or f"{float(night) * 100:g} % changed"
print(f"| {label} | {float(wall):.1f} | {int(rss) / 1024:,.0f} | {stages['changes']:.2f} | {c['entered']:,} · {c['left']:,} · {c['moved']:,} | {c['lists_changed']:,} of {c['lists_compared']:,} "
      f"| {k['decision']} | {k['inertia_previous'] / k['inertia_refit']:.4f} | {renumbered('tonight'):.1%} | {renumbered('afresh'):.1%} |")
PY
  rm -rf "$work/tonight" "$work/afresh"
done
rm -rf "$work"
