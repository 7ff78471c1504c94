#!/usr/bin/env bash
# Submits a sharded night to Slurm: a job array of N shards (shard.sbatch, one task per
# shard), then the merge (merge.sbatch), which starts only once every shard has succeeded.
#
#   deploy/slurm/submit.sh N OUT [run flags...]
#   deploy/slurm/submit.sh 16 /shared/night --profiles /shared/profiles.parquet --mode blocked
#
# OUT is the merged run directory; the shards go to OUT.shards/0 .. OUT.shards/N-1 (or
# $SHARD_ROOT), on a file system every node sees. The run flags are those of `sstc-match run`
# (but --out, --shard and --threads, which the jobs set). The binary is $SSTC_MATCH, else
# sstc-match on the PATH. sbatch options of your site (partition, account, time, CPUs per
# task) go in $SBATCH_OPTIONS, e.g. SBATCH_OPTIONS="--partition=batch --cpus-per-task=2".
# Prints the array's and the merge's job ids. A shard that failed is rerun alone with
#   sbatch --array=I deploy/slurm/shard.sbatch N OUT.shards [run flags...]
# and then the merge: sbatch deploy/slurm/merge.sbatch N OUT.shards OUT
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,17p' "$0" >&2
  exit 2
fi
n=$1 out=$2
shift 2
case "$n" in '' | *[!0-9]* | 0) echo "submit.sh: N must be a number of shards, at least 1 (got '$n')" >&2; exit 2 ;; esac
here="$(cd "$(dirname "$0")" && pwd)"
shards="${SHARD_ROOT:-$out.shards}"
mkdir -p "$shards"
# shellcheck disable=SC2086 # the site's options are words
array=$(sbatch --parsable ${SBATCH_OPTIONS:-} --array="0-$((n - 1))" --output="$shards/shard-%a.log" "$here/shard.sbatch" "$n" "$shards" "$@")
array=${array%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${SBATCH_OPTIONS:-} --dependency="afterok:$array" --kill-on-invalid-dep=yes --output="$shards/merge.log" "$here/merge.sbatch" "$n" "$shards" "$out")
echo "$array ${merge%%;*}"
