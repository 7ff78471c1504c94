#!/usr/bin/env bash
# A night on Kubernetes: the shards (an Indexed Job), then, once every index has succeeded,
# the merge. Jobs of an earlier night are deleted first (their shard and run directories on
# the volume stay until replaced). Needs kubectl with access to the namespace.
#   deploy/k8s/run-night.sh [NAMESPACE]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
ns=(--namespace "${1:-default}")
kubectl "${ns[@]}" delete job sstc-night-shards sstc-night-merge --ignore-not-found
kubectl "${ns[@]}" apply -f "$here/shards-job.yaml"
kubectl "${ns[@]}" wait --for=condition=complete job/sstc-night-shards --timeout=6h
kubectl "${ns[@]}" apply -f "$here/merge-job.yaml"
kubectl "${ns[@]}" wait --for=condition=complete job/sstc-night-merge --timeout=2h
