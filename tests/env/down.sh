#!/usr/bin/env bash
# Stops what up.sh started, in reverse order, by recorded PID (never by process name).
RUN=${RUN:?set RUN to the directory up.sh used}
for name in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
  f=$RUN/$name.pid; [ -f "$f" ] || continue
  pid=$(cat "$f")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$f"
done
