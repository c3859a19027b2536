# Maven helpers for the build scripts (sourced).

# classpath DIR GROUP:ARTIFACT:VERSION...: the runtime classpath of those artifacts, into DIR.
# EXCLUDE="GROUP:ARTIFACT …" leaves those (and what only they bring) out of every artifact's tree.
classpath() {
  local out=$1 pom dep g a v x; shift
  pom=$(mktemp -d)
  {
    echo '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
    echo '<groupId>bigtop.tests</groupId><artifactId>classpath</artifactId><version>1</version><packaging>pom</packaging><dependencies>'
    for dep in "$@"; do
      IFS=: read -r g a v <<<"$dep"
      echo "<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version><exclusions>"
      for x in ${EXCLUDE:-}; do echo "<exclusion><groupId>${x%%:*}</groupId><artifactId>${x#*:}</artifactId></exclusion>"; done
      echo "</exclusions></dependency>"
    done
    echo '</dependencies></project>'
  } > "$pom/pom.xml"
  rm -rf "$out"
  (cd "$pom" && mvn -B -q dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$out")
  rm -rf "$pom"
}
