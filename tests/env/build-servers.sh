#!/usr/bin/env bash
# Builds the real S3 servers the R2 tests run, once, into version-keyed cache directories:
# MinIO server and mc from their Go modules (pinned pseudo-versions of the release tags),
# Garage from crates.io. Needs the registries; run outside the test network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
. "$here/servers.sh"
mkdir -p "$MINIO_BIN" "$GARAGE_ROOT"
# The proxy resolves release tags to these pseudo-versions (immutable, checked by the sum database).
if [ ! -x "$MINIO_BIN/minio" ]; then
  echo "building minio $MINIO_RELEASE ($MINIO_PSEUDO)"
  GOBIN="$MINIO_BIN" go install -trimpath "github.com/minio/minio@$MINIO_PSEUDO"
fi
if [ ! -x "$MINIO_BIN/mc" ]; then
  echo "building mc $MC_RELEASE ($MC_PSEUDO)"
  export GONOSUMDB=github.com/minio/mc   # see servers.sh: verified against MC_MODULE_SUM instead
  sum=$(go mod download -json "github.com/minio/mc@$MC_PSEUDO" | sed -n 's/.*"Sum": "\(.*\)".*/\1/p')
  [ "$sum" = "$MC_MODULE_SUM" ] || { echo "mc module hash mismatch: expected $MC_MODULE_SUM, got $sum" >&2; exit 1; }
  GOBIN="$MINIO_BIN" go install -trimpath "github.com/minio/mc@$MC_PSEUDO"
fi
if [ ! -x "$GARAGE_ROOT/bin/garage" ]; then
  echo "building garage $GARAGE_VERSION from crates.io (about 10 min cold on 2 cores)"
  cargo install garage --version "$GARAGE_VERSION" --locked --root "$GARAGE_ROOT"
fi
echo "S3 servers ready: $MINIO_BIN/minio, $MINIO_BIN/mc, $GARAGE_ROOT/bin/garage"
