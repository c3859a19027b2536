#!/usr/bin/env bash
# Starts the R1 control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kwok, plus two kwok nodes and a default StorageClass. Run it inside the test
# network namespace (see test.sh). Writes $RUN/admin.kubeconfig; down.sh stops everything.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
RUN=${RUN:?set RUN to a scratch directory}
B=$TESTENV_BIN
for bin in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
  [ -x "$B/$bin" ] || { echo "missing $B/$bin: run 'bash tests/env/build.sh' first (needs the Go module proxy)" >&2; exit 3; }
done
mkdir -p "$RUN/pki" "$RUN/logs"
started=$(date +%s.%N)

# --- PKI: a CA, the API server's serving cert, an admin client cert in system:masters, SA keys.
STATE=$RUN
. "$here/lib.sh"
PKI=$RUN/pki
KC=$RUN/admin.kubeconfig
make_ca "$PKI"
server_ext "$PKI" server DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:10.96.0.1
sign "$PKI" apiserver "/CN=kube-apiserver" "$PKI/server.ext"
sign "$PKI" admin "/O=system:masters/CN=bigtop-admin" "$PKI/client.ext"
kubeconfig "$KC" "https://127.0.0.1:${APISERVER_PORT:-6443}" "$PKI" admin

start etcd "$B/etcd" --name=node0 --data-dir="$RUN/etcd" \
  --listen-client-urls=http://127.0.0.1:2379 --advertise-client-urls=http://127.0.0.1:2379 \
  --listen-peer-urls=http://127.0.0.1:2380 --initial-advertise-peer-urls=http://127.0.0.1:2380 \
  --initial-cluster=node0=http://127.0.0.1:2380 --unsafe-no-fsync=true --log-level=warn
await etcd http://127.0.0.1:2379/health

start kube-apiserver "$B/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
  --bind-address=127.0.0.1 --secure-port="${APISERVER_PORT:-6443}" --advertise-address=127.0.0.1 --endpoint-reconciler-type=none \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --client-ca-file="$PKI/ca.crt" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --service-cluster-ip-range=10.96.0.0/16 --allow-privileged=true --profiling=false --v=1
await kube-apiserver "https://127.0.0.1:${APISERVER_PORT:-6443}/readyz" --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key"

start kube-controller-manager "$B/kube-controller-manager" --kubeconfig="$KC" --authentication-kubeconfig="$KC" --authorization-kubeconfig="$KC" \
  --bind-address=127.0.0.1 --secure-port=10257 --leader-elect=false --controllers='*' \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --allocate-node-cidrs=true --cluster-cidr=10.244.0.0/16 --node-cidr-mask-size=24 \
  --service-cluster-ip-range=10.96.0.0/16 --enable-hostpath-provisioner=true --v=1
start kube-scheduler "$B/kube-scheduler" --kubeconfig="$KC" --authentication-kubeconfig="$KC" --authorization-kubeconfig="$KC" \
  --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --v=1
await kube-controller-manager https://127.0.0.1:10257/healthz -k
await kube-scheduler https://127.0.0.1:10259/healthz -k

K() { "$B/kubectl" --kubeconfig="$KC" "$@"; }
# kwok serves the kubelet API on 127.0.0.1:10250 for its nodes; with ClusterPortForward objects
# (created by tests) a port-forward to a simulated pod reaches a real server on loopback.
K apply -f "$B/kwok.x-k8s.io_clusterportforwards.yaml" >/dev/null
K wait --for=condition=Established crd/clusterportforwards.kwok.x-k8s.io --timeout=30s >/dev/null
stages=$(ls "$B"/stages/*.yaml | paste -sd, -)
start kwok "$B/kwok" --kubeconfig="$KC" --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake --node-lease-duration-seconds=40 \
  --cidr=10.244.0.0/16 --config="$stages" \
  --node-ip=127.0.0.1 --node-port=10250 --server-address=127.0.0.1:10250 \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --enable-crds=ClusterPortForward
for i in 0 1; do
  cat <<NODE | K apply -f - >/dev/null
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/hostname: kwok-node-$i, kubernetes.io/os: linux, kubernetes.io/arch: amd64, type: kwok}
status:
  allocatable: {cpu: "8", memory: 16Gi, pods: "110"}
  capacity: {cpu: "8", memory: 16Gi, pods: "110"}
NODE
done
# The in-tree hostPath provisioner in the KCM binds PVCs (nothing mounts them; pods are simulated).
cat <<SC | K apply -f - >/dev/null
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: standard, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}
provisioner: kubernetes.io/host-path
volumeBindingMode: Immediate
reclaimPolicy: Delete
SC
K wait --for=condition=Ready node -l type=kwok --timeout=60s >/dev/null
for _ in $(seq 1 120); do K get serviceaccount default -n default >/dev/null 2>&1 && break; sleep 0.25; done
echo "R1 control plane ready in $(elapsed "$started")s (kubeconfig: $KC)"
