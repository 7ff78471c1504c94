# Sourced by benches/nights.sh and benches/incremental.sh, with their arguments (N [run
# flags...]) and the name of their work directory: builds the binary, makes the generated
# registry of N partners (benches/out/profiles_N.parquet, kept) and its nights
# (benches/make_nights.py) in benches/out/NAME, emptied first. Sets n, flags, work, bin, base
# and py (a python with polars: a venv, benches/out/venv-nights, made on first use).
set -euo pipefail
name=$1
shift
[ $# -ge 1 ] || { echo "usage: bash benches/$name.sh N [run flags...]" >&2; exit 2; }
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n=$1
shift
flags=("$@")
work=benches/out/$name
rm -rf "$work" && mkdir -p "$work"
cargo build --release --locked --quiet
bin=target/release/sstc-match
base="benches/out/profiles_$n.parquet"
[ -f "$base" ] || "$bin" generate --n "$n" --seed 42 --out "$base" --quiet 2>/dev/null
venv=benches/out/venv-nights
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q polars; }
py="$venv/bin/python"
"$py" benches/make_nights.py "$base" "$work"
