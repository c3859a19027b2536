#!/usr/bin/env bash
# start|stop kube-router's NetworkPolicy controller for the R3 node (tests stop it to see a
# checkpoint fail when policies are not enforced). Run inside the test network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
RUN=${RUN:?set RUN to the scratch directory r3-up.sh used}
STATE=$RUN/r3
. "$here/lib.sh"
case "${1:-}" in
  start)
    [ -f "$STATE/kube-router.pid" ] && kill -0 "$(cat "$STATE/kube-router.pid")" 2>/dev/null && exit 0
    start kube-router "$R3_BIN/kube-router" --kubeconfig="$STATE/admin.kubeconfig" --run-firewall=true --run-router=false \
      --run-service-proxy=false --enable-cni=false --hostname-override=r3node --health-port=0 --v=1 ;;
  stop)
    stop kube-router
    # What it programmed goes with it, or stopped enforcement would still enforce.
    "$R3_BIN/kube-router" --cleanup-config >/dev/null 2>&1 || true ;;
  *) echo "usage: r3-policy.sh start|stop" >&2; exit 2 ;;
esac
