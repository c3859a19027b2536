#!/usr/bin/env bash
# Real Spark for the R2 spark test: pyspark from PyPI (it carries Spark's jars) in a venv, and the
# hadoop-aws + AWS SDK jars the spark phase pins for that release, from Maven Central, checked
# against the sha256 in addons/phases.yaml, for each release the spark phase offers (the R3 images
# carry each wheel's tree). Cached by version; needs PyPI and Maven Central, so run it outside the
# test network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
phases="$here/../../addons/phases.yaml"
for SPARK_VERSION in 4.0.1 3.5.7; do
root=$BIGTOP_TESTENV_CACHE/spark-$SPARK_VERSION
if ! "$root/venv/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$SPARK_VERSION')" 2>/dev/null; then
  echo "installing pyspark $SPARK_VERSION (a ~400 MiB download)"
  rm -rf "$root/venv" && python3 -m venv "$root/venv"
  "$root/venv/bin/pip" install -q "pyspark==$SPARK_VERSION"
fi
# The jar lines of this release in phases.yaml ("- {name: N, path: P, sha256: S}") under the spark
# phase's releases, each with the directory it goes to: jars/ for S3A, jars/hive-<version>/ for a
# Hive Metastore client that is fetched (the built-in one has no jars).
pinned=$(awk -v v="$SPARK_VERSION" '
  /^- name: / {phase = $3; on = 0; next}
  phase != "spark" {next}
  $0 ~ "^      \"" v "\":" {on = 1; dir = "."; next}
  on && /^      "/ {on = 0}
  on && $1 == "version:" {dir = "hive-" $2}
  on && /name:/ {print dir, $0}' "$phases" |
  sed -n 's/^\([^ ]*\) .*name: \([^,]*\), path: \([^,]*\), sha256: \([0-9a-f]*\)}.*/\1 \2 \3 \4/p')
[ -n "$pinned" ] || { echo "no jars of Spark $SPARK_VERSION found in $phases" >&2; exit 1; }
# Only the pinned jars: the tests put jars/*.jar on Spark's class path.
mkdir -p "$root/jars"
find "$root/jars" -name '*.jar' | while read -r jar; do
  rel=${jar#"$root/jars/"}; case $rel in */*) ;; *) rel="./$rel" ;; esac
  echo "$pinned" | awk -v r="$rel" '($1 "/" $2) == r {found = 1} END {exit !found}' || { echo "removing $jar (not pinned)"; rm -f "$jar"; }
done
echo "$pinned" | while read -r sub name path sha; do
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
done
