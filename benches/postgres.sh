#!/usr/bin/env bash
# PostgreSQL against files, in one script run (issue 21): reading N profiles from a table
# against reading the same rows from Parquet and CSV, and writing a run's tables into the
# sink against writing the files alone. Starts a throwaway cluster of Debian's postgresql
# (as `nobody` when run as root; removed at the end), generates the population, runs the job
# four times and prints one table: the ingest and output stages from each run's manifest.
#
#   bash benches/postgres.sh [N]        # N defaults to 100000
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
cargo build --release --locked -q
bin="$PWD/target/release/sstc-match"
pg="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
work="$(mktemp -d)"
as=()
if [ "$(id -u)" = 0 ]; then chown nobody "$work"; as=(runuser -u nobody --); fi
stop() { "${as[@]}" "$pg/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap stop EXIT
"${as[@]}" "$pg/initdb" -D "$work/data" -U sstc --auth=trust -E UTF8 --locale=C >/dev/null
"${as[@]}" "$pg/pg_ctl" -D "$work/data" -l "$work/log" -o "-k $work -c listen_addresses='' -c fsync=off" -w start >/dev/null
psql=(psql -X -q -At -h "$work" -U sstc -d postgres -v ON_ERROR_STOP=1)
host="$(printf %s "$work" | sed 's|/|%2F|g')"
url="postgresql://sstc@$host/postgres"

"$bin" generate --n "$n" --seed 42 --out "$work/p.csv" >/dev/null 2>&1
"$bin" generate --n "$n" --seed 42 --out "$work/p.parquet" >/dev/null 2>&1
columns="$(head -1 "$work/p.csv" | sed 's/,/ text, /g; s/$/ text/')"
"${psql[@]}" -c "CREATE TABLE partners ($columns)"
"${psql[@]}" -c "\\copy partners FROM '$work/p.csv' WITH (FORMAT csv, HEADER true)"

run() { # label, then the run's flags
  local label="$1"; shift
  "$bin" run --mode blocked --model-dir "$work/model" -q --out "$work/out" "$@" >/dev/null 2>&1 || [ $? = 1 ]
  python3 - "$label" "$work/out/manifest.json" <<'EOF'
import json, sys
label, path = sys.argv[1], sys.argv[2]
m = json.load(open(path))
t = {s["stage"]: s["seconds"] for s in m["timings"]}
print(f"| {label} | {m['input']['rows_read']:,} | {t.get('ingest', 0):.2f} | {t.get('output', 0):.2f} | {m['counts']['shortlist_rows']:,} |")
EOF
}

echo "| run | rows | ingest s | output s | shortlist rows |"
echo "|---|---|---|---|---|"
run "profiles from Parquet" --profiles "$work/p.parquet"
run "profiles from CSV" --profiles "$work/p.csv"
run "profiles from a PostgreSQL table" --profiles "$url?table=partners"
run "Parquet in, files and --sink out" --profiles "$work/p.parquet" --sink "$url?schema=nightly"
echo
echo "rows in the sink: $("${psql[@]}" -c 'SELECT count(*) FROM nightly.latest_shortlist') shortlist, $("${psql[@]}" -c 'SELECT count(*) FROM nightly.latest_resources') resources, $("${psql[@]}" -c 'SELECT count(*) FROM nightly.latest_triads') triads"
