#!/usr/bin/env bash
# bigtop-k8s look-alike of Hadoop 3.3.6's bin/hadoop, reduced to the two calls Hive's scripts
# make: `hadoop version` and `hadoop jar JAR CLASS ARGS…`. Hadoop 3's rules: the conf dir, then
# share/hadoop/common/{lib/,}*; $HADOOP_CLASSPATH first when HADOOP_USER_CLASSPATH_FIRST is set;
# HADOOP_HEAPSIZE_MAX (or the older HADOOP_HEAPSIZE) in MiB becomes -Xmx; HADOOP_OPTS and
# HADOOP_CLIENT_OPTS go to the JVM.
set -euo pipefail
HADOOP_HOME=${HADOOP_HOME:-$(cd "$(dirname "$0")/.." && pwd)}
HADOOP_CONF_DIR=${HADOOP_CONF_DIR:-$HADOOP_HOME/etc/hadoop}
classpath="$HADOOP_CONF_DIR:$HADOOP_HOME/share/hadoop/common/lib/*:$HADOOP_HOME/share/hadoop/common/*"
if [ -n "${HADOOP_CLASSPATH:-}" ]; then
  if [ -n "${HADOOP_USER_CLASSPATH_FIRST:-}" ]; then classpath="$HADOOP_CLASSPATH:$classpath"; else classpath="$classpath:$HADOOP_CLASSPATH"; fi
fi
heap=${HADOOP_HEAPSIZE_MAX:-${HADOOP_HEAPSIZE:-}}
case $heap in '') ;; *[!0-9]*) heap="-Xmx$heap" ;; *) heap="-Xmx${heap}m" ;; esac
case ${1:-} in
  version) echo "Hadoop 3.3.6" ;;
  jar)
    jar=$2 class=$3; shift 3
    # shellcheck disable=SC2086 # the options are word lists, as in Hadoop's scripts
    exec "$JAVA_HOME/bin/java" $heap ${HADOOP_OPTS:-} ${HADOOP_CLIENT_OPTS:-} -cp "$jar:$classpath" "$class" "$@" ;;
  *) echo "this look-alike of bin/hadoop runs only 'version' and 'jar'" >&2; exit 1 ;;
esac
