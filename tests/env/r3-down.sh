#!/usr/bin/env bash
# Removes what r3-up.sh started and everything the node left: containers (killed through
# containerd, so their shims exit), node processes, the private mount namespace (its mounts go
# with it), the kubepods cgroups, and the control plane. Run like r3-up.sh (inside the test
# network namespace, host mount namespace). Safe to run twice, or after a partial start.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
RUN=${RUN:?set RUN to the scratch directory r3-up.sh used}
STATE=$RUN/r3
[ -d "$STATE" ] || exit 0
. "$here/lib.sh"
stop pv-recycler
bash "$here/r3-policy.sh" stop
stop kube-proxy kubelet
CTR=("$R3_BIN/ctr" --address "$STATE/containerd.sock" -n k8s.io)
if "${CTR[@]}" version >/dev/null 2>&1; then
  for task in $("${CTR[@]}" tasks ls -q 2>/dev/null); do
    "${CTR[@]}" tasks kill -s SIGKILL "$task" >/dev/null 2>&1
  done
  for _ in $(seq 1 40); do [ -z "$("${CTR[@]}" tasks ls -q 2>/dev/null | grep -v '^$' || true)" ] && break; sleep 0.25; done
  for task in $("${CTR[@]}" tasks ls -q 2>/dev/null); do "${CTR[@]}" tasks delete -f "$task" >/dev/null 2>&1; done
fi
stop containerd
# Shims that outlived containerd: found by their binary, which lives only in our cache.
for p in /proc/[0-9]*; do
  [ "$(readlink "$p/exe" 2>/dev/null)" = "$R3_BIN/containerd-shim-runc-v2" ] && kill -KILL "${p#/proc/}" 2>/dev/null
done
stop holder
# Empty pod cgroups, deepest first, in every hierarchy.
for root in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
  [ -d "$root" ] && find "$root" -depth -type d -exec rmdir {} + 2>/dev/null
done
stop kube-scheduler kube-controller-manager kube-apiserver etcd
ip link del cni0 2>/dev/null
ip addr del 172.31.255.1/32 dev lo 2>/dev/null
true
