#!/usr/bin/env bash
# Side by side in one run: the engine's whole exact job against faiss IndexFlatIP on the
# engine's own exported matrices (the inner-product part of its score), plus blocked mode.
# Prints one table: N, mode, wall seconds, peak RSS, recall@10, engine time ÷ faiss time.
#
#   bash benches/side_by_side.sh                 # N = 100,000
#   bash benches/side_by_side.sh 10000 100000    # other sizes
#
# Needs cargo and python3; makes a venv with numpy, faiss-cpu and threadpoolctl under
# benches/out/venv on first use. Rows:
#   exact       the nightly job with default settings (ingest to written shortlist; the time
#               spent exporting the matrices is taken out); ratio = its wall ÷ faiss search
#               on the same run's exported matrices (d columns).
#   faiss-flat  bl_faiss_matrices.py on those matrices: search seconds, its process's RSS.
#   exact-linear / faiss-linear
#               only the linear terms weighted (mutual benefit by the mean rule, actor type,
#               no theme rules), so the score is the inner product: recall@10 of the engine's
#               lists against faiss, and the share of identical lists / tie-equivalent lists.
#   blocked     --mode blocked with the default probe; recall@10 against exact on a sample.
# Then the GEMM limit of this processor (gemm_peak.py) and the engine's ratio to it.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000)
work=benches/out
mkdir -p "$work"
venv="$work/venv"
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q numpy faiss-cpu threadpoolctl; }
py="$venv/bin/python"
cargo build --release --quiet
bin=target/release/sstc-match
time_it() { /usr/bin/time -f '%e %M' -o "$work/time.txt" "$@"; }
linear=(--mutual-rule mean --disable-rule shared_theme --disable-rule demand_driven
  --weight complementarity=0 --weight context=0 --weight geography=0 --weight values=0
  --weight sector=0 --weight mutual_benefit=1 --weight actor_type=0.4)

printf '| N | mode | d | wall s | peak RSS MB | recall@10 | identical / tie-equivalent lists | engine ÷ faiss |\n|---|---|---|---|---|---|---|---|\n'
for n in "${sizes[@]}"; do
  profiles="$work/profiles_$n.parquet"
  [ -f "$profiles" ] || "$bin" generate --n "$n" --seed 42 --out "$profiles" 2>/dev/null
  for variant in default linear; do
    out="$work/sbs_${n}_$variant"
    extra=(); [ "$variant" = linear ] && extra=("${linear[@]}")
    time_it "$bin" run --profiles "$profiles" --out "$out" --model-dir "$out.models" --quiet \
      --export-matrices "$out.matrices" "${extra[@]}" || [ $? -eq 1 ]
    read -r wall rss_kb < <(tail -n 1 "$work/time.txt")
    time_it "$py" benches/bl_faiss_matrices.py --queries "$out.matrices/queries.npy" \
      --candidates "$out.matrices/candidates.npy" --k 10 --exclude-self \
      --engine-topk "$out/shortlist.csv" --id-map "$out.matrices/ids.txt" > "$work/faiss.json"
    "$py" - "$out/manifest.json" "$work/faiss.json" "$n" "$variant" "$wall" "$rss_kb" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
f = json.loads(open(sys.argv[2]).read().split("RESULT ", 1)[1])
n, variant, wall, rss = sys.argv[3], sys.argv[4], float(sys.argv[5]), float(sys.argv[6]) / 1024
export = sum(t["seconds"] for t in m["timings"] if t["stage"] == "export")
engine = wall - export
name = "exact" if variant == "default" else "exact-linear"
agree = f'{f["identical_lists"]:.3f} / {f["tie_equivalent"]:.3f}' if variant == "linear" else ""
recall = f'{f["recall_at_k"]:.4f}' if variant == "linear" else "exact"
print(f'| {n} | {name} | {f["dim"]} | {engine:.1f} | {rss:.0f} | {recall} | {agree} | {engine / f["search_s"]:.2f} |')
print(f'| {n} | faiss-flat{"-linear" if variant == "linear" else ""} | {f["dim"]} | {f["search_s"]:.1f} (search) | {f["peak_rss_mb"]:.0f} | | | |')
PY
  done
  out="$work/sbs_${n}_blocked"
  time_it "$bin" run --profiles "$profiles" --out "$out" --model-dir "$out.models" --quiet --mode blocked || [ $? -eq 1 ]
  read -r wall rss_kb < <(tail -n 1 "$work/time.txt")
  "$py" - "$out/manifest.json" "$n" "$wall" "$rss_kb" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
recall = m["blocking"]["recall_at_k"]
print(f'| {sys.argv[2]} | blocked (probe {m["config"]["blocked"]["probe"]}) | | {float(sys.argv[3]):.1f} | {float(sys.argv[4]) / 1024:.0f} | {recall:.3f} | | |')
PY
done
"$py" benches/gemm_peak.py --sizes 4096 --skinny 1024 --reps 3 > "$work/gemm.json" 2>/dev/null || true
"$py" - "$work/gemm.json" "$work" "${sizes[@]}" <<'PY'
import json, sys
try:
    g = json.load(open(sys.argv[1]))
except Exception:
    sys.exit("gemm_peak.py gave no result")
peak = max(s["gflops_best"] for s in g["square"] if s["dtype"] == "float32")
print(f"\nSGEMM peak here: {peak:.0f} GFLOP/s (gemm_peak.py, n = 4096, 2 threads).")
for n in sys.argv[3:]:
    m = json.load(open(f"{sys.argv[2]}/sbs_{n}_default/manifest.json"))
    header = open(f"{sys.argv[2]}/sbs_{n}_default.matrices/queries.npy", "rb").read(128).decode("latin1")
    d = int(header.split("'shape': (")[1].split(")")[0].split(",")[1])
    rank = next(t["seconds"] for t in m["timings"] if t["stage"] == "rank")
    limit = 2 * int(n) ** 2 * d / (peak * 1e9)
    print(f"N = {n}: the rank stage takes {rank:.1f} s; 2·N²·d at that peak (d = {d}) is {limit:.1f} s: ratio {rank / limit:.1f}.")
PY
