#!/usr/bin/env bash
# Real Spark for the R2 spark test: pyspark from PyPI (it carries Spark's jars) in a venv, and the
# hadoop-aws + AWS SDK jars the spark phase pins for that release, from Maven Central, checked
# against the sha256 in addons/phases.yaml. Cached by version; needs PyPI and Maven Central, so run
# it outside the test network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
phases="$here/../../addons/phases.yaml"
SPARK_VERSION=4.0.1
root=$BIGTOP_TESTENV_CACHE/spark-$SPARK_VERSION
if ! "$root/venv/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$SPARK_VERSION')" 2>/dev/null; then
  echo "installing pyspark $SPARK_VERSION (a ~400 MiB download)"
  rm -rf "$root/venv" && python3 -m venv "$root/venv"
  "$root/venv/bin/pip" install -q "pyspark==$SPARK_VERSION"
fi
# The jar lines of this release in phases.yaml ("- {name: N, path: P, sha256: S}"), each with the
# directory it goes to: jars/ for S3A, jars/hive-<version>/ for the Hive Metastore client.
awk -v v="\"$SPARK_VERSION\":" '
  $1 == v {on = 1; hive = 0; dir = "."; next}
  on && /^      "/ {on = 0}
  on && /hive-client:/ {hive = 1}
  on && hive && $1 == "version:" {dir = "hive-" $2}
  on && /name:/ {print dir, $0}' "$phases" |
  sed -n 's/^\([^ ]*\) .*name: \([^,]*\), path: \([^,]*\), sha256: \([0-9a-f]*\)}.*/\1 \2 \3 \4/p' |
  while read -r sub name path sha; do
    mkdir -p "$root/jars/$sub"
    jar="$root/jars/$sub/$name"
    if ! echo "$sha  $jar" | sha256sum -c --status 2>/dev/null; then
      dir=${path%/*}; version=${dir##*/}; adir=${dir%/*}; artifact=${adir##*/}; group=$(echo "${adir%/*}" | tr / .)
      mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
        -Dartifact="$group:$artifact:$version" -DoutputDirectory="$root/jars/$sub" -Dmdep.overWriteReleases=true
      echo "$sha  $jar" | sha256sum -c --status || { echo "sha256 mismatch for $jar (pinned $sha)" >&2; exit 1; }
    fi
  done
ls -R "$root/jars"
