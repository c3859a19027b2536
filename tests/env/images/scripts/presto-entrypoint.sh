#!/bin/sh
# bigtop-k8s look-alike of the prestodb/presto image's /opt/entrypoint.sh, with its behaviour:
# the pod's host name is appended to etc/node.properties as node.id, then the launcher runs the
# server in the foreground.
set -e
echo "node.id=$HOSTNAME" >> "$PRESTO_HOME/etc/node.properties"
"$PRESTO_HOME/bin/launcher" run
