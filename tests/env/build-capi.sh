#!/usr/bin/env bash
# Copies the CRDs of the ClusterAPI AWS and vSphere providers we pin (bootstrap/capi/providers.yaml)
# out of their Go module zips into the test cache, for the R1 template tests. The Go toolchain
# verifies each zip against the Go checksum database. (Core, kubeadm and Docker provider CRDs come
# from ../shared/upstream.) Needs the Go module proxy; run outside the test network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
providers="$here/../../bootstrap/capi/providers.yaml"
version_of() { sed -n "s/^    provider: $1:\(v[0-9.]*\)$/\1/p" "$providers"; }
aws=$(version_of aws); vsphere=$(version_of vsphere)
out=$BIGTOP_TESTENV_CACHE/capi-crds
copy() { # module version subdir name
  local dest="$out/$4-$2"
  [ -d "$dest" ] && return 0
  local dir
  dir=$(cd /tmp && go mod download -json "$1@$2" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [ -d "$dir/$3" ] || { echo "no $3 in $1@$2" >&2; exit 1; }
  mkdir -p "$dest.partial" && cp "$dir/$3"/infrastructure.cluster.x-k8s.io_*.yaml "$dest.partial/" && mv "$dest.partial" "$dest"
}
copy sigs.k8s.io/cluster-api-provider-aws/v2 "$aws" config/crd/bases aws
copy sigs.k8s.io/cluster-api-provider-vsphere "$vsphere" config/default/crd/bases vsphere
ls "$out"
