# Pinned versions of the R1 control plane. Sourced by build.sh and up.sh.
# Bumping Kubernetes: regenerate kube/go.mod's replace list (see README, "Test environment").
K8S_VERSION=v1.35.4
ETCD_VERSION=v3.6.14
KWOK_VERSION=v0.8.0
BIGTOP_TESTENV_CACHE=${BIGTOP_TESTENV_CACHE:-$HOME/.cache/bigtop-k8s/testenv}
TESTENV_BIN=$BIGTOP_TESTENV_CACHE/kube-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION
export GOTOOLCHAIN=local CGO_ENABLED=0
# The R3 node (a real kubelet + containerd; see r3-up.sh). kubelet and kube-proxy are built with
# the control plane above (same wrapper module, same version).
CONTAINERD_VERSION=v2.2.9
COREDNS_VERSION=v1.14.7
KUBE_ROUTER_VERSION=v2.1.0
R3_BIN=$BIGTOP_TESTENV_CACHE/r3-containerd-$CONTAINERD_VERSION-coredns-$COREDNS_VERSION-kube-router-$KUBE_ROUTER_VERSION
R3_IMAGES=$BIGTOP_TESTENV_CACHE/r3-images
# Knative Serving's webhook and controller for R1 (build-knative.sh): module v0.50.0 is release
# knative-v1.23.0, whose manifests the serverless phase applies.
KNATIVE_SERVING_MODULE=v0.50.0
KNATIVE_BIN=$BIGTOP_TESTENV_CACHE/knative-serving-$KNATIVE_SERVING_MODULE
