#!/usr/bin/env bash
# A real Jupyter server for the R2 notebooks test: JupyterLab, jupyter-server and ipykernel from
# PyPI in a venv (the kernel imports PySpark from build-spark.sh's venv). Cached by version;
# needs PyPI, so run it outside the test network namespace.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
JUPYTERLAB_VERSION=4.6.6 JUPYTER_SERVER_VERSION=2.21.1 IPYKERNEL_VERSION=7.4.0
root=$BIGTOP_TESTENV_CACHE/jupyter-$JUPYTERLAB_VERSION-server-$JUPYTER_SERVER_VERSION-ipykernel-$IPYKERNEL_VERSION
if ! "$root/venv/bin/jupyter-server" --version >/dev/null 2>&1; then
  echo "installing JupyterLab $JUPYTERLAB_VERSION, jupyter-server $JUPYTER_SERVER_VERSION, ipykernel $IPYKERNEL_VERSION"
  rm -rf "$root" && python3 -m venv "$root/venv"
  "$root/venv/bin/pip" install -q "jupyterlab==$JUPYTERLAB_VERSION" "jupyter-server==$JUPYTER_SERVER_VERSION" "ipykernel==$IPYKERNEL_VERSION"
fi
ln -sfn "$root" "$BIGTOP_TESTENV_CACHE/jupyter"
echo "Jupyter ready in $root"
