#!/usr/bin/env bash
# Stops what up.sh started, in reverse order, by recorded PID (never by process name).
RUN=${RUN:?set RUN to the directory up.sh used}
STATE=$RUN
. "$(dirname "$0")/lib.sh"
stop kwok kube-scheduler kube-controller-manager kube-apiserver etcd
