#!/usr/bin/env bash
# Runs inside the benchmark's network namespace (see apply.sh).
set -euo pipefail
. "$REPO/tests/env/versions.sh"
export KUBECONFIG=$RUN/admin.kubeconfig
B="${CARGO_TARGET_DIR:-$REPO/target}/release/bigtop-k8s --catalog-dir $REPO/tests/fixtures/catalog -q"
K="$TESTENV_BIN/kubectl"
# base is left out: on R1 its openebs-hostpath class (no running provisioner) would become the
# only default and leave the MinIO volume Pending.
phases="object-storage fixture fixture-crd"
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ours=(); theirs=()
for i in $(seq 1 "$ROUNDS"); do
  t=$(now); $B add-phase $phases --no-verify >/dev/null; ours+=("$(echo "$(now) - $t" | bc -l)")
  $B render $phases > "$RUN/objects.yaml"
  $B render $phases -o json > "$RUN/objects.json"
  $B remove-phase $phases --force >/dev/null

  python3 - "$RUN/objects.json" "$RUN" <<'PY'
import json, sys
objs, run = json.load(open(sys.argv[1])), sys.argv[2]
crds = [o for o in objs if o["kind"] == "CustomResourceDefinition"]
rest = [o for o in objs if o["kind"] != "CustomResourceDefinition"]
for name, items in (("crds", crds), ("rest", rest)):
    json.dump({"apiVersion": "v1", "kind": "List", "items": items}, open(f"{run}/{name}.json", "w"))
with open(f"{run}/waits", "w") as w:
    for o in objs:
        k, m = o["kind"], o["metadata"]
        if k in ("Deployment", "StatefulSet", "DaemonSet"):
            print(f"rollout status {k.lower()}/{m['name']} -n {m['namespace']} --timeout=300s", file=w)
        elif k == "Job":
            print(f"wait --for=condition=complete job/{m['name']} -n {m['namespace']} --timeout=300s", file=w)
PY
  # kubectl cannot apply a CR in the same file as its CRD; the fair baseline does CRDs first.
  t=$(now)
  $K apply --server-side --field-manager=kubectl-bench -f "$RUN/crds.json" >/dev/null
  $K wait --for=condition=established -f "$RUN/crds.json" --timeout=60s >/dev/null
  $K apply --server-side --field-manager=kubectl-bench -f "$RUN/rest.json" >/dev/null
  while read -r args; do $K $args >/dev/null; done < "$RUN/waits"
  theirs+=("$(echo "$(now) - $t" | bc -l)")
  $K delete -f "$RUN/rest.json" --wait=true >/dev/null 2>&1 || true
  $K delete -f "$RUN/crds.json" --wait=true >/dev/null 2>&1 || true
done
o=$(printf '%s\n' "${ours[@]}" | median); k=$(printf '%s\n' "${theirs[@]}" | median)
printf 'phases: %s (%s objects), %s rounds\n' "$phases" "$(grep -c '^---' "$RUN/objects.yaml")" "$ROUNDS"
printf 'bigtop-k8s add-phase --no-verify      median %.2fs  (%s)\n' "$o" "$(printf '%.2f ' "${ours[@]}")"
printf 'kubectl apply --server-side + wait     median %.2fs  (%s)\n' "$k" "$(printf '%.2f ' "${theirs[@]}")"
printf 'ratio bigtop-k8s / kubectl: %.2f\n' "$(echo "$o / $k" | bc -l)"
