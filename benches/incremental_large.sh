#!/usr/bin/env bash
# Incremental nights where a full night takes a quarter of an hour (a million partners),
# measured in one run: the generated registry of N published with --incremental (the first
# night, in full), then the nights of 0.1 %, 1 % and 10 % changed (benches/make_nights.py),
# each ranked incrementally over a copy of the first night, and the 1 % night once more in
# full without --incremental: the yardstick (at 100k the full nights of every share took the
# same time within 5 %, benches/incremental.sh). The 1 % night's two runs must publish the
# same files. Prints one table: wall, state + rank and output seconds, peak memory, how the
# night ranked, pairs scored, and the ratios to the full night.
#
#   bash benches/incremental_large.sh 1000000 [run flags...]     # about 45 minutes
#
# Outputs are deleted once read.
source "$(dirname "$0")/nights_common.sh" incremental_large "$@"

# night NAME SHARE [extra flags]: runs SHARE's night over a copy of the first night into NAME.
night() {
  local name=$1 file=$2
  shift 2
  rm -rf "${work:?}/$name" && cp -a "$work/first" "$work/$name" && sync
  /usr/bin/time -v -o "$work/$name.time" "$bin" run --profiles "$file" --out "$work/$name" --formats parquet -q "${flags[@]}" "$@" 2>/dev/null || [ $? -eq 1 ]
}
/usr/bin/time -v -o "$work/first.time" "$bin" run --profiles "$base" --out "$work/first" --formats parquet --incremental -q "${flags[@]}" 2>/dev/null || [ $? -eq 1 ]
night full "$work/night_0.01.parquet"
for share in 0.001 0.01 0.1; do
  night "inc_$share" "$work/night_$share.parquet" --incremental
done
for f in shortlist.parquet resources.parquet triads.parquet changes.parquet rejects.csv clusters.csv duplicates.csv; do
  cmp "$work/full/$f" "$work/inc_0.01/$f" || { echo "the incremental 1 % night differs from the full one: $f" >&2; exit 1; }
done
"$py" - "$work" <<'PY'
import json, re, sys
work = sys.argv[1]
run_ids = {json.load(open(f"{work}/{name}/manifest.json"))["run_id"] for name in ("full", "inc_0.01")}
assert len(run_ids) == 1, f"the 1 % nights' run ids differ: {run_ids}"
def run(name):
    m = json.load(open(f"{work}/{name}/manifest.json"))
    t = open(f"{work}/{name}.time").read()
    h, m_, s = ([0, 0] + [float(x) for x in re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t).group(1).split(":")])[-3:]
    stages = {x["stage"]: x["seconds"] for x in m["timings"]}
    return {"wall": h * 3600 + m_ * 60 + s, "peak": int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) // 1024,
            "state": stages.get("state", 0.0), "rank": stages["rank"], "output": stages["output"], "pairs": m["counts"]["pairs_scored"], "inc": m.get("incremental")}
full = run("full")
print("| night | wall (s) | state + rank (s) | output (s) | peak (MB) | fresh · settled · recomputed | pairs scored | wall / full | ranking / full |")
print("|---|---|---|---|---|---|---|---|---|")
for name, label in [("first", "first night (full, --incremental)"), ("full", "1 % changed, full (no --incremental)"), ("inc_0.001", "0.1 % changed"), ("inc_0.01", "1 % changed"), ("inc_0.1", "10 % changed")]:
    r = run(name)
    i = r["inc"]
    how = "—" if i is None else (f"{i['fresh']:,} · {i['settled']:,} · {i['recomputed']:,}" if i["ranked"] == "incremental" else f"in full: {i['reason']}")
    print(f"| {label} | {r['wall']:.1f} | {r['state']:.1f} + {r['rank']:.1f} | {r['output']:.1f} | {r['peak']:,} | {how} | {r['pairs']:.3g} | {r['wall'] / full['wall']:.3f} | {(r['state'] + r['rank']) / full['rank']:.3f} |")
PY
rm -rf "$work"
