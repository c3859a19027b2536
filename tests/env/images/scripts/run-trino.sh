#!/bin/bash
# bigtop-k8s look-alike of the Trino image's /usr/lib/trino/bin/run-trino: the launcher runs the
# server in the foreground with /etc/trino, and the pod's host name is the node id unless
# node.properties sets one.
set -xeuo pipefail
launcher_opts=(--etc-dir /etc/trino)
if ! grep -s -q 'node.id' /etc/trino/node.properties; then
  launcher_opts+=("-Dnode.id=${HOSTNAME}")
fi
exec /usr/lib/trino/bin/launcher run "${launcher_opts[@]}" "$@"
