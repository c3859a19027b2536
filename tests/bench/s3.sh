#!/usr/bin/env bash
# Benchmark (not a test): S3 checkpoint throughput through a kube-rs port-forward (API server →
# kwok kubelet API → MinIO) vs directly against the same MinIO, in one run. Needs root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../env/test.sh" --test r1_object_storage -- --ignored --nocapture bench_
