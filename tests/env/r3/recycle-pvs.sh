#!/usr/bin/env bash
# Test infrastructure: makes the R3 node's `local` PVs reusable, as a provisioner would. A PV
# whose claim was deleted (Released) has its directory emptied and its claim reference removed,
# so it is Available again. Runs until killed. Usage: recycle-pvs.sh KUBECTL KUBECONFIG
set -u
K=("$1" --kubeconfig "$2")
while sleep 2; do
  for pv in $("${K[@]}" get pv -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{"\n"}{end}' 2>/dev/null); do
    dir=$("${K[@]}" get pv "$pv" -o jsonpath='{.spec.local.path}')
    [ -n "$dir" ] && [ -d "$dir" ] && find "$dir" -mindepth 1 -delete && chmod 0777 "$dir"
    "${K[@]}" patch pv "$pv" --type json -p '[{"op":"remove","path":"/spec/claimRef"}]' >/dev/null && echo "recycled $pv"
  done
done
