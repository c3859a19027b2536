#!/usr/bin/env bash
# Builds what the R3 node runs, once, into version-keyed cache directories: containerd and its
# runc shim, CoreDNS and kube-router (NetworkPolicy enforcement) from the Go module proxy; then
# the look-alike images (images/build.py, cached by content hash). runc, the CNI plugins, ipset,
# conntrack and a static busybox come from Debian. Needs the registries: run outside the test
# network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
. "$here/servers.sh"
bash "$here/build-servers.sh" >/dev/null   # the MinIO, mc and Garage binaries the images carry (cached)
bash "$here/build-sql.sh" >/dev/null       # Trino, the Hive Metastore and its Java runtime (cached)
bash "$here/build-spark.sh" >/dev/null     # the pyspark packages whose trees the Spark images carry (cached)
bash "$here/build-kafka.sh" >/dev/null     # the Kafka jars the Kafka image carries (cached)
bash "$here/build-zookeeper.sh" >/dev/null # the ZooKeeper jars the ZooKeeper image carries (cached)
bash "$here/build-jupyter.sh" >/dev/null   # JupyterLab, which the notebook image carries (cached)

need=()
command -v runc >/dev/null || need+=(runc)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v ipset >/dev/null || need+=(ipset)           # kube-router's policy sets
command -v conntrack >/dev/null || need+=(conntrack)   # kube-proxy flushes stale UDP entries
command -v iptables >/dev/null || need+=(iptables)
command -v gcc >/dev/null || need+=(gcc)               # the pause image's one C file
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

mkdir -p "$R3_BIN"
containerd_version=$("$R3_BIN/containerd" --version 2>/dev/null || true)
if [[ $containerd_version != *" $CONTAINERD_VERSION "* ]] || [ ! -x "$R3_BIN/containerd-shim-runc-v2" ] || [ ! -x "$R3_BIN/ctr" ]; then
  echo "building containerd $CONTAINERD_VERSION"
  GOBIN="$R3_BIN" go install -trimpath -tags "no_btrfs no_devmapper no_zfs" \
    -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION"
fi
if [ ! -x "$R3_BIN/coredns" ]; then
  echo "building CoreDNS $COREDNS_VERSION"
  GOBIN="$R3_BIN" go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
fi
if [ ! -x "$R3_BIN/kube-router" ]; then
  echo "building kube-router $KUBE_ROUTER_VERSION (its NetworkPolicy controller enforces policies on R3)"
  GOBIN="$R3_BIN" go install -trimpath -ldflags "-s -w" "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
fi

# Debian's static busybox, unpacked (the package conflicts with the dynamic busybox others need).
busybox_dir=$BIGTOP_TESTENV_CACHE/busybox-static
if [ ! -x "$busybox_dir/bin/busybox" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download busybox-static >/dev/null && dpkg-deb -x busybox-static_*.deb root)
  mkdir -p "$busybox_dir/bin" && cp "$tmp/root/bin/busybox" "$busybox_dir/bin/" && rm -rf "$tmp"
fi

python3 "$here/images/build.py" --out "$R3_IMAGES" --busybox "$busybox_dir/bin/busybox" \
  --minio "$MINIO_BIN" --garage "$GARAGE_ROOT/bin/garage" --coredns "$R3_BIN/coredns" \
  --sql "$BIGTOP_TESTENV_CACHE/sql" --jdk25 /usr/lib/jvm/temurin-25-jdk-amd64 --postgres /usr/lib/postgresql/15 \
  --jdk17 /usr/lib/jvm/java-17-openjdk-amd64 --spark "$BIGTOP_TESTENV_CACHE" --kafka "$BIGTOP_TESTENV_CACHE/kafka-4.1.1/classpath" \
  --jupyter "$BIGTOP_TESTENV_CACHE/jupyter" --zookeeper "$BIGTOP_TESTENV_CACHE/zookeeper-3.9.4/classpath"
echo "R3 node binaries ready in $R3_BIN; images in $R3_IMAGES"
