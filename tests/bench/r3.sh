#!/usr/bin/env bash
# Benchmark (not a test): on a fresh R3 node, for each phase that runs there, the seconds from
# `add-phase` to its checkpoint passed, then each pod's real memory (working set, from the
# kubelet's stats summary) beside its request and limit. Two baselines measured in the same run:
# a bare busybox pod's create-to-Ready time (what the node itself costs), and the floor — the
# same servers started by hand on loopback with the rendered configuration and the same
# checkpoint run against them (R2's harness: `floor` tests in r2_sql and r2_spark), so the
# phase figures also read as multiples of what the software itself needs.
# Needs root. Usage: bash tests/bench/r3.sh [rounds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); repo=$(cd "$here/../.." && pwd); env=$repo/tests/env
rounds=${1:-3}
for script in build.sh build-r3.sh build-servers.sh build-sql.sh build-spark.sh; do bash "$env/$script" >/dev/null; done
(cd "$repo" && cargo build --release --locked -q && cargo test --locked -q --no-run --test r2_sql --test r2_spark 2>/dev/null)
ns=bigtop-bench-r3-$$; RUN=$(mktemp -d /tmp/bigtop-bench-r3.XXXXXX); export RUN
trap 'nsenter --net=/run/netns/$ns bash $env/r3-down.sh >/dev/null 2>&1; ip netns del $ns 2>/dev/null; rm -rf $RUN' EXIT
ip netns add "$ns"; ip netns exec "$ns" ip link set lo up
nsenter --net="/run/netns/$ns" bash "$env/r3-up.sh"
. "$env/versions.sh"
IN() { nsenter --net="/run/netns/$ns" "$@"; }
B=("${CARGO_TARGET_DIR:-$repo/target}/release/bigtop-k8s" --kubeconfig "$RUN/r3/admin.kubeconfig" -q)
K=("$TESTENV_BIN/kubectl" --kubeconfig "$RUN/r3/admin.kubeconfig" --cache-dir "$RUN/r3/kubectl-cache")
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

baseline=()
for i in $(seq 1 "$rounds"); do
  t=$(now)
  IN "${K[@]}" run "bench-$i" --image=docker.io/library/busybox:1.37.0 --restart=Never --command -- sleep 3600 >/dev/null
  IN "${K[@]}" wait --for=condition=Ready "pod/bench-$i" --timeout=120s >/dev/null
  baseline+=("$(echo "$(now) - $t" | bc -l)")
  IN "${K[@]}" delete pod "bench-$i" --grace-period=0 --force >/dev/null 2>&1
done
base=$(printf '%s\n' "${baseline[@]}" | median)
printf 'baseline: busybox pod create -> Ready, median of %d: %.1f s\n' "$rounds" "$base"

memory() { # namespace: each pod's working set and RSS beside its containers' requests and limits
  # The kubelet samples container stats every 10-15 s: wait until the namespace's pods have some.
  for _ in $(seq 1 30); do
    IN "${K[@]}" get --raw "/api/v1/nodes/r3node/proxy/stats/summary" > "$RUN/summary.json"
    python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if any(p["podRef"]["namespace"]==sys.argv[2] and any(c.get("memory",{}).get("workingSetBytes") for c in p.get("containers",[])) for p in s["pods"]) else 1)' "$RUN/summary.json" "$1" && break
    sleep 1
  done
  IN "${K[@]}" get pods -n "$1" -o json > "$RUN/pods.json"
  python3 - "$RUN/summary.json" "$RUN/pods.json" <<'PY'
import json, sys
summary, pods = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
def used(p, key):
    return sum(c.get("memory", {}).get(key) or 0 for c in p.get("containers", []))
stats = {(p["podRef"]["namespace"], p["podRef"]["name"]): (used(p, "workingSetBytes"), used(p, "rssBytes")) for p in summary["pods"]}
for p in pods["items"]:
    if p["status"].get("phase") != "Running":
        continue
    m = p["metadata"]; res = [c.get("resources", {}) for c in p["spec"]["containers"]]
    req = "+".join(r.get("requests", {}).get("memory", "-") for r in res)
    lim = "+".join(r.get("limits", {}).get("memory", "-") for r in res)
    ws, rss = stats.get((m["namespace"], m["name"]), (0, 0))
    print(f"  {m['namespace']}/{m['name']}: working set {ws / 2**20:.0f} MiB, RSS {rss / 2**20:.0f} MiB; request {req}, limit {lim}")
PY
}

for backend in minio garage; do
  times=()
  for i in $(seq 1 "$rounds"); do
    t=$(now)
    IN "${B[@]}" add-phase object-storage --set "object-storage.backend=$backend" --timeout 300 >/dev/null
    times+=("$(echo "$(now) - $t" | bc -l)")
    [ "$i" = "$rounds" ] && memory object-storage
    IN "${B[@]}" remove-phase object-storage >/dev/null
  done
  m=$(printf '%s\n' "${times[@]}" | median)
  printf 'object-storage (%s): add-phase -> checkpoint passed, median of %d: %.1f s (%.1fx the bare pod)\n' "$backend" "$rounds" "$m" "$(echo "$m / $base" | bc -l)"
done

# sql and spark: the init containers fetch their jars (and for Presto's metastore the server
# itself) from a Maven repository served on the node's address inside the namespace, built
# from the R2 caches by name for every file the rendered fetch scripts pin
# (`fetch DIR NAME PATH SHA256` and the jar cache's `cached PATH SHA256`).
maven=$RUN/maven; mkdir -p "$maven"
# Rendering sql on the cluster reads the lake key it imports: the lake must be there.
IN "${B[@]}" add-phase object-storage --profile laptop --timeout 300 >/dev/null
for phase in "sql --set sql.engine=trino" "sql --set sql.engine=presto" "sql spark --set spark.metastore=sql"; do
  # shellcheck disable=SC2086 # the phase and its settings are words
  IN "${B[@]}" render $phase -o json | python3 -c '
import json, sys
for o in json.load(sys.stdin):
    for line in (o.get("data") or {}).get("fetch-jars.sh", "").splitlines():
        words = line.split()
        if words[:1] == ["fetch"] and words[1].startswith("/"):
            print(*words[2:4])
        elif words[:1] == ["cached"]:
            print(words[1].rsplit("/", 1)[1], words[1])'
done | sort -u | while read -r name path; do
  file=$(find "$BIGTOP_TESTENV_CACHE/sql" "$BIGTOP_TESTENV_CACHE/spark-4.0.1/jars" -name "$name" -print -quit)
  [ -n "$file" ] || { echo "$name is not in the R2 caches: run tests/env/build-sql.sh and build-spark.sh" >&2; exit 1; }
  mkdir -p "$maven/$(dirname "$path")" && ln -sf "$file" "$maven/$path"
done
nsenter --net="/run/netns/$ns" python3 -m http.server --bind 172.31.255.1 18081 --directory "$maven" >/dev/null 2>&1 &   # not through IN: $! must be the server
maven_pid=$!
trap 'kill $maven_pid 2>/dev/null; nsenter --net=/run/netns/$ns bash $env/r3-down.sh >/dev/null 2>&1; ip netns del $ns 2>/dev/null; rm -rf $RUN' EXIT
for engine in trino presto; do
  times=()
  IN "${B[@]}" add-phase object-storage --profile laptop --timeout 300 >/dev/null
  for i in $(seq 1 "$rounds"); do
    t=$(now)
    IN "${B[@]}" add-phase sql --profile laptop --set "sql.engine=$engine" --set sql.maven-repository=http://172.31.255.1:18081 --timeout 600 >/dev/null
    times+=("$(echo "$(now) - $t" | bc -l)")
    [ "$i" = "$rounds" ] && memory sql
    IN "${B[@]}" remove-phase sql >/dev/null
  done
  IN "${B[@]}" remove-phase object-storage >/dev/null
  m=$(printf '%s\n' "${times[@]}" | median)
  printf 'sql (%s): add-phase -> checkpoint passed, median of %d: %.1f s (%.1fx the bare pod)\n' "$engine" "$rounds" "$m" "$(echo "$m / $base" | bc -l)"
  declare "r3_sql_$engine=$m"
done

# spark over the Trino lakehouse: the checkpoint's submitter, driver and executor pods write and
# read parquet and read the sql checkpoint's table through the metastore.
IN "${B[@]}" add-phase object-storage --profile laptop --timeout 300 >/dev/null
IN "${B[@]}" add-phase sql --profile laptop --set sql.maven-repository=http://172.31.255.1:18081 --timeout 600 >/dev/null
times=()
for i in $(seq 1 "$rounds"); do
  t=$(now)
  IN "${B[@]}" add-phase spark --profile laptop --set spark.maven-repository=http://172.31.255.1:18081 --timeout 900 >/dev/null
  times+=("$(echo "$(now) - $t" | bc -l)")
  [ "$i" = "$rounds" ] && memory spark
  IN "${B[@]}" remove-phase spark >/dev/null
done
IN "${B[@]}" remove-phase sql >/dev/null; IN "${B[@]}" remove-phase object-storage >/dev/null
spark_median=$(printf '%s\n' "${times[@]}" | median)
printf 'spark: add-phase -> checkpoint passed, median of %d: %.1f s (%.1fx the bare pod)\n' "$rounds" "$spark_median" "$(echo "$spark_median / $base" | bc -l)"

# The floor: the same servers and checkpoints without Kubernetes (loopback, R2's harness).
. "$env/servers.sh"
floor_env=(env BIGTOP_R2_MINIO_BIN="$MINIO_BIN" BIGTOP_R2_GARAGE_BIN="$GARAGE_ROOT/bin" BIGTOP_R2_SQL_ROOT="$BIGTOP_TESTENV_CACHE/sql"
  BIGTOP_R2_SPARK_ROOT="$BIGTOP_TESTENV_CACHE/spark-4.0.1" BIGTOP_K8S_MIRROR="${BIGTOP_K8S_MIRROR:-$repo/../shared/upstream}")
floors=$(cd "$repo" && for test in r2_sql r2_spark; do
  IN "${floor_env[@]}" cargo test --locked --offline -q --test "$test" -- --ignored --nocapture floor 2>/dev/null | sed -n 's/^BENCH floor //p'
done)
echo "$floors" | while IFS=: read -r what seconds; do
  seconds=${seconds% s}
  case $what in "sql (trino)") r3=$r3_sql_trino ;; "sql (presto)") r3=$r3_sql_presto ;; spark) r3=$spark_median ;; *) continue ;; esac
  printf 'floor %s: servers started by hand -> checkpoint passed: %.1f s; add-phase on R3 is %.1fx that\n' "$what" "$seconds" "$(echo "$r3 / $seconds" | bc -l)"
done
