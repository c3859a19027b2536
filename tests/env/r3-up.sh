#!/usr/bin/env bash
# Starts rung R3: a real node — containerd + kubelet + kube-proxy, CoreDNS, kube-router's
# NetworkPolicy controller — registered to a control plane of its own (no kwok), all inside the
# test network namespace. Node components run in a private mount namespace whose /run,
# /var/lib and /var/log are fresh tmpfs and whose machine-wide sysctls are shadowed by plain
# files, so nothing they mount or write reaches the machine. Writes $RUN/r3/admin.kubeconfig;
# r3-down.sh removes everything. Run it as `nsenter --net=/run/netns/$NS bash r3-up.sh`: in the
# test's network namespace but the host's mount namespace (`ip netns exec` remounts /sys
# without the cgroup hierarchies the kubelet and runc need).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
RUN=${RUN:?set RUN to a scratch directory}
STATE=$RUN/r3
. "$here/lib.sh"
B=$TESTENV_BIN
for bin in "$B/etcd" "$B/kube-apiserver" "$B/kube-controller-manager" "$B/kube-scheduler" "$B/kubectl" "$B/kubelet" "$B/kube-proxy" \
           "$R3_BIN/containerd" "$R3_BIN/containerd-shim-runc-v2" "$R3_BIN/ctr" "$R3_BIN/kube-router" /usr/sbin/runc /usr/lib/cni/bridge; do
  [ -x "$bin" ] || { echo "missing $bin: run 'bash tests/env/build.sh && bash tests/env/build-r3.sh' (needs the registries)" >&2; exit 3; }
done
[ -s "$R3_IMAGES/images.txt" ] || { echo "no R3 images in $R3_IMAGES: run 'bash tests/env/build-r3.sh'" >&2; exit 3; }

NODE=r3node NODE_IP=172.31.255.1 POD_CIDR=10.88.0.0/16 NODE_POD_CIDR=10.88.0.0/24 SERVICE_CIDR=10.96.0.0/16 DNS_IP=10.96.0.10
mkdir -p "$STATE"/{pki,logs,cni,pod-logs,volume-plugins,sysctl,pv}
started=$(date +%s.%N)
render() { sed -e "s|@DIR@|$STATE|g" -e "s|@NODE@|$NODE|g" -e "s|@NODE_IP@|$NODE_IP|g" -e "s|@POD_CIDR@|$POD_CIDR|g" \
               -e "s|@NODE_POD_CIDR@|$NODE_POD_CIDR|g" -e "s|@DNS_IP@|$DNS_IP|g" "$here/r3/$1"; }
render containerd.toml > "$STATE/containerd.toml"
render cni.conflist > "$STATE/cni/10-bigtop-r3.conflist"
render kubelet.yaml > "$STATE/kubelet.yaml"
render kube-proxy.yaml > "$STATE/kube-proxy.yaml"
printf 'nameserver %s\n' "$DNS_IP" > "$STATE/resolv.conf"   # only read for dnsPolicy Default pods

# --- Network: the node address on loopback, the pod bridge, Service IPs routed to it.
[ "$(readlink /proc/self/ns/net)" = "$(readlink /proc/1/ns/net)" ] && { echo "r3-up.sh must run inside the test network namespace" >&2; exit 3; }
ip addr add "$NODE_IP/32" dev lo
ip link add cni0 type bridge
ip addr add "${NODE_POD_CIDR%.0/24}.1/24" dev cni0
ip link set cni0 up
ip route add "$SERVICE_CIDR" dev cni0

# --- PKI: CA, API server, admin, the node's client and serving certificates.
PKI=$STATE/pki
make_ca "$PKI"
server_ext "$PKI" apiserver "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:$NODE_IP,IP:${SERVICE_CIDR%.0/16}.1"
server_ext "$PKI" kubelet "DNS:$NODE,IP:$NODE_IP,IP:127.0.0.1"
sign "$PKI" apiserver "/CN=kube-apiserver" "$PKI/apiserver.ext"
sign "$PKI" kubelet "/CN=$NODE" "$PKI/kubelet.ext"
sign "$PKI" admin "/O=system:masters/CN=bigtop-admin" "$PKI/client.ext"
sign "$PKI" node "/O=system:nodes/CN=system:node:$NODE" "$PKI/client.ext"
KC=$STATE/admin.kubeconfig
kubeconfig "$KC" "https://$NODE_IP:6443" "$PKI" admin
kubeconfig "$STATE/node.kubeconfig" "https://$NODE_IP:6443" "$PKI" node
K() { "$B/kubectl" --kubeconfig="$KC" --cache-dir="$STATE/kubectl-cache" "$@"; }

# --- Control plane (host mount namespace, test network namespace); ports apart from R1's.
start etcd "$B/etcd" --name=r3 --data-dir="$STATE/etcd" \
  --listen-client-urls=http://127.0.0.1:12379 --advertise-client-urls=http://127.0.0.1:12379 \
  --listen-peer-urls=http://127.0.0.1:12380 --initial-advertise-peer-urls=http://127.0.0.1:12380 \
  --initial-cluster=r3=http://127.0.0.1:12380 --unsafe-no-fsync=true --log-level=warn
await etcd http://127.0.0.1:12379/health
start kube-apiserver "$B/kube-apiserver" --etcd-servers=http://127.0.0.1:12379 \
  --bind-address="$NODE_IP" --secure-port=6443 --advertise-address="$NODE_IP" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --client-ca-file="$PKI/ca.crt" \
  --kubelet-client-certificate="$PKI/admin.crt" --kubelet-client-key="$PKI/admin.key" \
  --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=InternalIP \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --service-cluster-ip-range="$SERVICE_CIDR" --allow-privileged=true --profiling=false --v=1
await kube-apiserver "https://$NODE_IP:6443/readyz" --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key"
start kube-controller-manager "$B/kube-controller-manager" --kubeconfig="$KC" --authentication-kubeconfig="$KC" --authorization-kubeconfig="$KC" \
  --bind-address=127.0.0.1 --secure-port=10357 --leader-elect=false --controllers='*' --use-service-account-credentials=true \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --allocate-node-cidrs=true --cluster-cidr="$POD_CIDR" --node-cidr-mask-size=24 \
  --service-cluster-ip-range="$SERVICE_CIDR" --v=1
start kube-scheduler "$B/kube-scheduler" --kubeconfig="$KC" --authentication-kubeconfig="$KC" --authorization-kubeconfig="$KC" \
  --bind-address=127.0.0.1 --secure-port=10359 --leader-elect=false --v=1
await kube-controller-manager https://127.0.0.1:10357/healthz -k
await kube-scheduler https://127.0.0.1:10359/healthz -k
echo "R3 control plane ready at $(elapsed "$started")s"

# --- The node's private mount namespace: fresh /run, /var/lib and /var/log (the kubelet and the
# CNI plugins write fixed paths there), and the sysctls the kubelet sets for the whole machine
# (vm.overcommit_memory, kernel.panic, …) shadowed by plain files.
for f in vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes; do
  cat "/proc/sys/$f" > "$STATE/sysctl/${f//\//%}"
done
holder_script='set -e
for f in "$0"/*; do mount --bind "$f" "/proc/sys/$(basename "$f" | tr % /)"; done
for d in /run /var/lib /var/log; do mount -t tmpfs -o mode=0755 tmpfs "$d"; done
mount --make-rshared /
exec sleep infinity'
start holder unshare --mount --propagation private sh -c "$holder_script" "$STATE/sysctl"
holder=$(cat "$STATE/holder.pid")
for _ in $(seq 1 100); do grep -q ' /var/log ' "/proc/$holder/mountinfo" 2>/dev/null && break; sleep 0.05; done
grep -q ' /var/log ' "/proc/$holder/mountinfo" || { echo "the node's mount namespace did not come up:" >&2; cat "$STATE/logs/holder.log" >&2; exit 1; }
# start_node NAME CMD...: start a node component inside that mount namespace.
start_node() { local name=$1; shift; start "$name" nsenter --mount="/proc/$holder/ns/mnt" env PATH="$R3_BIN:$PATH" "$@"; }

# --- containerd and the look-alike images (imported: the kubelet never pulls).
start_node containerd "$R3_BIN/containerd" --config "$STATE/containerd.toml"
CTR=("$R3_BIN/ctr" --address "$STATE/containerd.sock" -n k8s.io)
for _ in $(seq 1 100); do "${CTR[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
# Two imports at a time: unpacking a layer is CPU work, and the machine has two cores
# (containerd serialises writers of a shared layer; the second waits for the first).
import_image() {
  local log="$STATE/logs/import-${1##*/}.log"
  "$R3_BIN/ctr" --address "$STATE/containerd.sock" -n k8s.io images import "$1" >/dev/null 2>"$log" \
    || { echo "cannot import $1:" >&2; cat "$log" >&2; return 1; }
}
export -f import_image; export R3_BIN STATE
grep -v '^$' "$R3_IMAGES/images.txt" | xargs -P 2 -I{} bash -c 'import_image "$1"' _ {} || exit 1
echo "containerd up, $(wc -l < "$R3_IMAGES/images.txt") images imported at $(elapsed "$started")s"

# --- kubelet, registered with a client certificate (no bootstrap).
kubelet_started=$(date +%s.%N)
start_node kubelet "$B/kubelet" --config="$STATE/kubelet.yaml" --kubeconfig="$STATE/node.kubeconfig" \
  --root-dir="$STATE/kubelet" --cert-dir="$STATE/kubelet/pki" --hostname-override="$NODE" --node-ip="$NODE_IP" --v=1
for _ in $(seq 1 240); do
  [ "$(K get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ] && break; sleep 0.25
done
[ "$(K get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ] ||
  { echo "node $NODE did not become Ready; kubelet log:" >&2; tail -n 40 "$STATE/logs/kubelet.log" >&2; exit 1; }
echo "R3 node $NODE Ready $(elapsed "$kubelet_started")s after the kubelet started ($(elapsed "$started")s in all)"

# --- kube-proxy (Services) and kube-router's policy controller (NetworkPolicies): host
# processes in the network namespace. kube-router is a test-only enforcer here.
start kube-proxy "$B/kube-proxy" --config="$STATE/kube-proxy.yaml" --v=1
bash "$here/r3-policy.sh" start

# --- Cluster DNS and storage that behaves like OpenEBS's local PVs (0777 directories).
for _ in $(seq 1 120); do K get serviceaccount default -n default >/dev/null 2>&1 && break; sleep 0.25; done
render coredns.yaml | K apply -f - >/dev/null
{
  echo 'apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete'
  for i in $(seq 0 7); do
    mkdir -p "$STATE/pv/pv$i" && chmod 0777 "$STATE/pv/pv$i"
    echo "---
apiVersion: v1
kind: PersistentVolume
metadata: {name: r3-pv$i}
spec:
  capacity: {storage: 100Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: local
  local: {path: $STATE/pv/pv$i}
  nodeAffinity: {required: {nodeSelectorTerms: [{matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [$NODE]}]}]}}"
  done
} | K apply -f - >/dev/null
start pv-recycler bash "$here/r3/recycle-pvs.sh" "$B/kubectl" "$KC"
K -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null ||
  { echo "CoreDNS did not roll out:" >&2; K -n kube-system describe pods -l k8s-app=kube-dns >&2; exit 1; }
echo "R3 ready in $(elapsed "$started")s: CoreDNS, 8 local PVs (recycled when released), kube-proxy, kube-router (kubeconfig: $KC)"
