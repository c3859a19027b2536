#!/usr/bin/env bash
# Real ZooKeeper for the R2 coordination test: the server and client (org.apache.zookeeper:zookeeper)
# with their runtime classpath from Maven Central, plus what its pom leaves provided or optional
# and the server needs (metrics-core: without it QuorumPeerMain fails with NoClassDefFoundError;
# logback, commons-cli, snappy), run as `java -cp` — Maven has no distribution, so no bin/*.sh.
# Cached by version; needs Maven Central: run it outside the test network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
. "$here/maven.sh"
ZOOKEEPER_VERSION=3.9.4      # the streaming phase's zookeeper addon version
root=$BIGTOP_TESTENV_CACHE/zookeeper-$ZOOKEEPER_VERSION
if [ ! -f "$root/classpath.done" ]; then
  echo "fetching ZooKeeper $ZOOKEEPER_VERSION's classpath"
  classpath "$root/classpath" org.apache.zookeeper:zookeeper:$ZOOKEEPER_VERSION \
    io.dropwizard.metrics:metrics-core:4.1.12.1 ch.qos.logback:logback-classic:1.3.15 \
    commons-cli:commons-cli:1.5.0 org.xerial.snappy:snappy-java:1.1.10.5
  touch "$root/classpath.done"
fi
ls "$root/classpath" | wc -l
