# Pinned versions of the R1 control plane. Sourced by build.sh and up.sh.
# Bumping Kubernetes: regenerate kube/go.mod's replace list (see README, "Test environment").
K8S_VERSION=v1.35.4
ETCD_VERSION=v3.6.14
KWOK_VERSION=v0.8.0
BIGTOP_TESTENV_CACHE=${BIGTOP_TESTENV_CACHE:-$HOME/.cache/bigtop-k8s/testenv}
TESTENV_BIN=$BIGTOP_TESTENV_CACHE/kube-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION
export GOTOOLCHAIN=local CGO_ENABLED=0
