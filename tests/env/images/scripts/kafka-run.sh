#!/bin/sh
# Stand-in for the Kafka distribution's bin/*.sh that our pods and the checkpoint call (Maven
# Central has the jars, not the distribution): each name runs the class the distribution's
# script runs through kafka-run-class.sh, with the jars of ../libs, on the JVM in PATH. Heap as
# upstream: KAFKA_HEAP_OPTS, else 1 GiB for the server and 256 MiB for the tools. Linked under
# each name in the R3 Kafka look-alike (tests/env/images/build.py) and by tests/r2_kafka.rs.
here=$(dirname "$0")
heap=-Xmx256M
case $(basename "$0") in
  kafka-server-start.sh) class=kafka.Kafka heap="-Xmx1G -Xms1G" ;;
  kafka-storage.sh) class=kafka.tools.StorageTool ;;
  kafka-topics.sh) class=org.apache.kafka.tools.TopicCommand ;;
  kafka-console-producer.sh) class=org.apache.kafka.tools.ConsoleProducer ;;
  kafka-console-consumer.sh) class=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  *) echo "$(basename "$0"): not one of the Kafka scripts this stand-in runs" >&2; exit 127 ;;
esac
# shellcheck disable=SC2086 # the heap options are words
exec java ${KAFKA_HEAP_OPTS:-$heap} -cp "$here/../libs/*" "$class" "$@"
