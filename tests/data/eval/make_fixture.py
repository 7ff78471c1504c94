"""Builds the metric fixture and the reference values with the ranx library.

Run once (the outputs are committed; the tests compare the engine's metric code to them):
    python3 -m venv /tmp/evalenv && /tmp/evalenv/bin/pip install ranx==0.3.21
    /tmp/evalenv/bin/python tests/data/eval/make_fixture.py
"""
import csv, json, random, pathlib
from ranx import Qrels, Run, evaluate

here = pathlib.Path(__file__).parent
rng = random.Random(20261123)
pool = [f"c{i:02d}" for i in range(40)]
lists, relevant = {}, {}
for q in range(30):
    query = f"q{q:02d}"
    lists[query] = rng.sample(pool, rng.choice([0, 3, 10, 10, 10]))
    relevant[query] = rng.sample(pool, rng.randint(1, 6))
with open(here / "lists.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["partner_id", "rank", "candidate_id"])
    for q, items in lists.items():
        for i, c in enumerate(items):
            w.writerow([q, i + 1, c])
with open(here / "relevant.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["partner_id", "relevant_id"])
    for q, items in relevant.items():
        for c in items:
            w.writerow([q, c])
qrels = Qrels({q: {c: 1 for c in items} for q, items in relevant.items()})
run = Run({q: {c: 1.0 / (i + 1) for i, c in enumerate(items)} for q, items in lists.items()})
metrics = ["precision@10", "recall@10", "mrr@10", "ndcg@10", "map@10", "hit_rate@10"]
values = evaluate(qrels, run, metrics, make_comparable=True)
json.dump({k: float(v) for k, v in values.items()}, open(here / "ranx_values.json", "w"), indent=2)
print(values)
