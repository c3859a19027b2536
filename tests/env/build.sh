#!/usr/bin/env bash
# Builds the R1 control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, kwok) and the R3 node's kubelet and kube-proxy from pinned Go modules into a version-keyed cache directory, once.
# Needs the Go module proxy; run it outside the test network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
mkdir -p "$TESTENV_BIN"


# Version checks read the whole output into a variable first: under pipefail, `cmd | grep -q`
# or `cmd | head` can end in SIGPIPE (exit 141) when the reader stops before the writer does.
apiserver_version=$("$TESTENV_BIN/kube-apiserver" --version 2>/dev/null || true)
etcd_version=$("$TESTENV_BIN/etcd" --version 2>/dev/null || true)
if [ "$apiserver_version" != "Kubernetes $K8S_VERSION" ] ||
   [ ! -x "$TESTENV_BIN/kubectl" ] || [ ! -x "$TESTENV_BIN/kube-scheduler" ] || [ ! -x "$TESTENV_BIN/kube-controller-manager" ] ||
   [ ! -x "$TESTENV_BIN/kubelet" ] || [ ! -x "$TESTENV_BIN/kube-proxy" ]; then
  echo "building Kubernetes $K8S_VERSION (cold: 15-30 min on 2 cores)"
  minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  ldflags="-s -w"
  # Same -X targets as upstream hack/lib/version.sh, so /version reports a real version.
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X '$p.gitVersion=$K8S_VERSION' -X '$p.gitMajor=1' -X '$p.gitMinor=$minor'"
    ldflags+=" -X '$p.gitTreeState=clean' -X '$p.buildDate=1970-01-01T00:00:00Z'"
  done
  (cd "$here/kube" && go build -trimpath -tags=selinux,notest,grpcnotrace -ldflags="$ldflags" \
     -o "$TESTENV_BIN/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
     k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl \
     k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
fi

if [[ $etcd_version != *"etcd Version: ${ETCD_VERSION#v}"* ]]; then
  echo "building etcd $ETCD_VERSION"
  (cd "$here/etcd" && go build -trimpath -ldflags="-s -w" -o "$TESTENV_BIN/etcd" go.etcd.io/etcd/server/v3)
fi

if [ ! -x "$TESTENV_BIN/kwok" ]; then
  echo "building kwok $KWOK_VERSION"
  GOBIN="$TESTENV_BIN" go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
fi
# kwok's stage definitions ship in its module; up.sh reads them from there (never copied into the repo).
kwok_src=$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
mkdir -p "$TESTENV_BIN/stages"
for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
         pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
  cp "$kwok_src/kustomize/stage/$f" "$TESTENV_BIN/stages/"
done
# kwok's ClusterPortForward CRD: lets port-forwards to simulated pods reach servers on loopback.
cp "$kwok_src/kustomize/crd/bases/kwok.x-k8s.io_clusterportforwards.yaml" "$TESTENV_BIN/"
"$TESTENV_BIN/kube-apiserver" --version
etcd_version=$("$TESTENV_BIN/etcd" --version)
echo "${etcd_version%%$'\n'*}"
echo "test environment binaries ready in $TESTENV_BIN"
