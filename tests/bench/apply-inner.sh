#!/usr/bin/env bash
# Runs inside the benchmark's network namespace (see apply.sh).
set -euo pipefail
. "$REPO/tests/env/versions.sh"
export KUBECONFIG=$RUN/admin.kubeconfig
B="$REPO/target/release/bigtop-k8s --catalog-dir $REPO/tests/fixtures/catalog -q"
K="$TESTENV_BIN/kubectl"
phases="object-storage fixture fixture-crd"
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ours=(); theirs=()
for i in $(seq 1 "$ROUNDS"); do
  t=$(now); $B add-phase $phases --no-verify >/dev/null; ours+=("$(echo "$(now) - $t" | bc -l)")
  $B render $phases > "$RUN/objects.yaml"
  $B render $phases -o json > "$RUN/objects.json"
  $B remove-phase $phases --force >/dev/null

  t=$(now)
  $K apply --server-side --field-manager=kubectl-bench -f "$RUN/objects.yaml" >/dev/null
  python3 - "$RUN/objects.json" > "$RUN/waits" <<'PY'
import json, sys
for o in json.load(open(sys.argv[1])):
    k, m = o["kind"], o["metadata"]
    if k in ("Deployment", "StatefulSet", "DaemonSet"):
        print(f"rollout status {k.lower()}/{m['name']} -n {m['namespace']} --timeout=300s")
    elif k == "Job":
        print(f"wait --for=condition=complete job/{m['name']} -n {m['namespace']} --timeout=300s")
PY
  while read -r args; do $K $args >/dev/null; done < "$RUN/waits"
  theirs+=("$(echo "$(now) - $t" | bc -l)")
  $K delete -f "$RUN/objects.yaml" --wait=true >/dev/null 2>&1 || true
done
o=$(printf '%s\n' "${ours[@]}" | median); k=$(printf '%s\n' "${theirs[@]}" | median)
printf 'phases: %s (%s objects), %s rounds\n' "$phases" "$(grep -c '^---' "$RUN/objects.yaml")" "$ROUNDS"
printf 'bigtop-k8s add-phase --no-verify      median %.2fs  (%s)\n' "$o" "$(printf '%.2f ' "${ours[@]}")"
printf 'kubectl apply --server-side + wait     median %.2fs  (%s)\n' "$k" "$(printf '%.2f ' "${theirs[@]}")"
printf 'ratio bigtop-k8s / kubectl: %.2f\n' "$(echo "$o / $k" | bc -l)"
