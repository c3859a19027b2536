#!/usr/bin/env bash
# Real Kafka for the R2 streaming test: the broker (kafka_2.13) and the console tools
# (kafka-tools, without connect-runtime's web stack, which the console tools never load) with
# their runtime classpath from Maven Central, run as `java -cp` — Maven has no Kafka
# distribution tarball, so no bin/*.sh. Kafka logs through slf4j 1.7: log4j 2's binding for it
# comes too. Cached by version; needs Maven Central: run it outside the test network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
. "$here/maven.sh"
KAFKA_VERSION=4.1.1      # the streaming phase's kafka addon version
LOG4J_VERSION=2.25.5
root=$BIGTOP_TESTENV_CACHE/kafka-$KAFKA_VERSION
if [ ! -f "$root/classpath.done" ]; then
  echo "fetching Kafka $KAFKA_VERSION's classpath"
  EXCLUDE="org.apache.kafka:connect-runtime" classpath "$root/classpath" \
    org.apache.kafka:kafka_2.13:$KAFKA_VERSION org.apache.kafka:kafka-tools:$KAFKA_VERSION \
    org.apache.logging.log4j:log4j-core:$LOG4J_VERSION org.apache.logging.log4j:log4j-slf4j-impl:$LOG4J_VERSION
  touch "$root/classpath.done"
fi
ls "$root/classpath" | wc -l
