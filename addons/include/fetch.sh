    # fetch DIR NAME PATH SHA256: the file at PATH of the Maven repository (or of the repository
    # layout at $BIGTOP_JAR_REPOSITORY, an in-cluster cache) as DIR/NAME, unless it is already
    # there with that sha256; other bytes stop the script and nothing is kept.
    fetch() {
      mkdir -p "$1" && cd "$1"
      if ! echo "$4  $2" | sha256sum -c -s 2>/dev/null; then
        # A new pod's address reaches the NetworkPolicy enforcer a moment after the pod starts
        # (seen on the R3 node: connection refused), and a cache may be restarting: retry ~30 s.
        tries=0
        until wget -q -O "$2.$$" "${BIGTOP_JAR_REPOSITORY:-{{ phase_params['maven-repository'] }}}/$3"; do
          tries=$((tries + 1))
          [ "$tries" -lt 15 ] || { echo "cannot fetch $3" >&2; rm -f "$2.$$"; exit 1; }
          sleep 2
        done
        echo "$4  $2.$$" | sha256sum -c -s || { echo "sha256 mismatch for $2" >&2; rm -f "$2.$$"; exit 1; }
        mv "$2.$$" "$2"
      fi
      chmod 0644 "$2"
    }
