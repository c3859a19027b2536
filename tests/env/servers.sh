# Pinned versions of the real S3 servers used by the R2 tests. Sourced by build-servers.sh
# and up-servers.sh. Keep them equal to addons/minio and addons/garage.
MINIO_RELEASE=RELEASE.2025-09-07T16-13-09Z
MINIO_PSEUDO=v0.0.0-20250907161309-07c3a429bfed
MC_RELEASE=RELEASE.2025-08-13T08-35-41Z
MC_PSEUDO=v0.0.0-20250813083541-7394ce0dd2a8
# The checksum database answers 404 for this pseudo-version (its timestamp is the tag's, not the
# commit's), so build-servers.sh skips it for mc alone and checks the module hash that the proxy
# served on first download instead (recorded from those bytes, 2026-11-24).
MC_MODULE_SUM=h1:9tuRE4iEaDkuxatxe7pddYYh1SX5mT0/D0haofZFeTY=
GARAGE_VERSION=2.5.0
MINIO_BIN=$BIGTOP_TESTENV_CACHE/minio-$MINIO_RELEASE-mc-$MC_RELEASE
GARAGE_ROOT=$BIGTOP_TESTENV_CACHE/garage-$GARAGE_VERSION
