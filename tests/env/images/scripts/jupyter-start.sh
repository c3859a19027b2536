#!/bin/bash
# Stand-in for jupyter/docker-stacks images/docker-stacks-foundation/start.sh as it behaves for
# a user other than root (our pods run as jovyan): source the before-notebook hooks — the
# pyspark-notebook image's 10spark-config.sh puts Spark's Python and py4j on PYTHONPATH — then
# run the command. Upstream's root-only work (user switching, sudo, chown) is left out.
set -e
for hook in /usr/local/bin/before-notebook.d/*.sh; do
  [ -e "$hook" ] || continue
  # shellcheck disable=SC1090
  source "$hook"
done
exec "$@"
