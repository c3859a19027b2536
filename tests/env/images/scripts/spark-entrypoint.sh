#!/bin/bash
# bigtop-k8s look-alike of the apache/spark image's /opt/entrypoint.sh (apache/spark-docker
# entrypoint.sh.template), with its behaviour: `driver ARGS` runs spark-submit in client mode
# bound to the pod's address; `executor` runs the executor backend from the SPARK_* variables
# Spark sets on executor pods; anything else runs as given. The classpath: the conf dir
# (SPARK_CONF_DIR or $SPARK_HOME/conf), HADOOP_CONF_DIR, the jars, SPARK_EXTRA_CLASSPATH, the
# working directory. Not reproduced: tini (the command is exec'd directly), the nss_wrapper
# entry for uids without a passwd line, and gosu (our pods never run as root).
set -eo pipefail
JAVA_HOME=${JAVA_HOME:-/opt/java/openjdk}
classpath="${SPARK_CLASSPATH:+$SPARK_CLASSPATH:}$SPARK_HOME/jars/*"
[ -n "$SPARK_EXTRA_CLASSPATH" ] && classpath="$classpath:$SPARK_EXTRA_CLASSPATH"
[ -n "${HADOOP_CONF_DIR+x}" ] && classpath="$HADOOP_CONF_DIR:$classpath"
classpath="${SPARK_CONF_DIR:-$SPARK_HOME/conf}:$classpath:$PWD"
java_opts=()
for v in "${!SPARK_JAVA_OPT_@}"; do java_opts+=("${!v}"); done
[ -n "${PYSPARK_PYTHON+x}" ] && export PYSPARK_PYTHON
[ -n "${PYSPARK_DRIVER_PYTHON+x}" ] && export PYSPARK_DRIVER_PYTHON
case "$1" in
  driver)
    shift
    exec "$SPARK_HOME/bin/spark-submit" --conf "spark.driver.bindAddress=$SPARK_DRIVER_BIND_ADDRESS" \
      --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=$SPARK_DRIVER_BIND_ADDRESS" --deploy-mode client "$@" ;;
  executor)
    exec "$JAVA_HOME/bin/java" "${java_opts[@]}" -Xms"$SPARK_EXECUTOR_MEMORY" -Xmx"$SPARK_EXECUTOR_MEMORY" \
      -cp "$classpath:$SPARK_DIST_CLASSPATH" org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
      --driver-url "$SPARK_DRIVER_URL" --executor-id "$SPARK_EXECUTOR_ID" --cores "$SPARK_EXECUTOR_CORES" \
      --app-id "$SPARK_APPLICATION_ID" --hostname "$SPARK_EXECUTOR_POD_IP" \
      --resourceProfileId "$SPARK_RESOURCE_PROFILE_ID" --podName "$SPARK_EXECUTOR_POD_NAME" ;;
  *) exec "$@" ;;
esac
