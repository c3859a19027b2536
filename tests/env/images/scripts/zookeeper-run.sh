#!/bin/sh
# Stand-in for the ZooKeeper distribution's bin/zkServer.sh (start-foreground only) and
# bin/zkCli.sh that our pods and the checkpoint call (Maven Central has the jars, not the
# distribution): each runs the class the distribution's script runs through zkEnv.sh, with
# ZOOCFGDIR first on the class path (where logback.xml is, as zkEnv.sh does) and the jars of
# ../lib, on the JVM in PATH. Heaps as zkEnv.sh: ZK_SERVER_HEAP (1000) and ZK_CLIENT_HEAP (256)
# MiB. Linked under both names in the R3 ZooKeeper look-alike (tests/env/images/build.py) and by
# tests/r2_zookeeper.rs.
here=$(dirname "$0")
conf=${ZOOCFGDIR:-$here/../conf}
case $(basename "$0") in
  zkServer.sh)
    [ "$1" = start-foreground ] || { echo "zkServer.sh: this stand-in runs start-foreground only" >&2; exit 2; }
    exec java "-Xmx${ZK_SERVER_HEAP:-1000}m" -Dzookeeper.log.dir="${ZOO_LOG_DIR:-/tmp}" -cp "$conf:$here/../lib/*" \
      org.apache.zookeeper.server.quorum.QuorumPeerMain "$conf/zoo.cfg" ;;
  zkCli.sh)
    exec java "-Xmx${ZK_CLIENT_HEAP:-256}m" -cp "$conf:$here/../lib/*" org.apache.zookeeper.ZooKeeperMain "$@" ;;
  *) echo "$(basename "$0"): not one of the ZooKeeper scripts this stand-in runs" >&2; exit 127 ;;
esac
