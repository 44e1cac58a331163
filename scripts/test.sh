#!/usr/bin/env bash
# Runs every test of the project: the Rust tests and the end-to-end tests with
# the real AgentOps SDK. Installs what is missing (Debian packages, Python
# virtual environments) first, so it works on a fresh Debian machine as root
# with no standard input. Exits non-zero when any step fails.
#
# Usage: bash scripts/test.sh
# Environment: CARGO_TARGET_DIR (default: target/ in the repository).
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1
export DEBIAN_FRONTEND=noninteractive

target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
case "$target_dir" in
    /*) ;;
    *) target_dir="$repo_root/$target_dir" ;;
esac
venv_root="$repo_root/target/test-venvs"
log_dir="$repo_root/target/test-logs"
mkdir -p "$venv_root" "$log_dir"

# Upper bounds per step, in seconds, so that a hung step fails the run
# instead of using up the CI time.
build_timeout=1800
test_timeout=1200
pip_timeout=900

failed_steps=()
summaries=()

step() {
    printf '\n==> %s\n' "$*"
}

fail_step() {
    failed_steps+=("$1")
    printf 'FAILED: %s\n' "$1" >&2
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        echo "error: installing Debian packages needs root or sudo: $*" >&2
        return 1
    fi
}

# ---------------------------------------------------------------------------
# System packages: each Debian package is installed only when its check
# fails. SYSTEM PACKAGES: add further needs here. The dashboard's browser
# tests drive Debian's chromium; no test downloads a browser of its own.
# ---------------------------------------------------------------------------
python_venv_works() {
    local probe
    probe="$(mktemp -d)"
    python3 -m venv "$probe/venv" >/dev/null 2>&1
    local status=$?
    rm -rf "$probe"
    return "$status"
}

missing_packages=()
command -v python3 >/dev/null 2>&1 || missing_packages+=(python3)
command -v cc >/dev/null 2>&1 || missing_packages+=(gcc)
command -v chromium >/dev/null 2>&1 || missing_packages+=(chromium fonts-dejavu-core)

install_system_packages() {
    step "installing Debian packages: $*"
    as_root apt-get update -q || return 1
    as_root apt-get install -y -q --no-install-recommends "$@"
}

if [ "${#missing_packages[@]}" -gt 0 ]; then
    install_system_packages "${missing_packages[@]}" || fail_step "install Debian packages"
fi

# python3-venv is needed only where python3 comes without ensurepip.
if command -v python3 >/dev/null 2>&1 && ! python_venv_works; then
    install_system_packages python3-venv || fail_step "install python3-venv"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found; install the Rust toolchain (rustup) first" >&2
    exit 1
fi

# ---------------------------------------------------------------------------
# Python virtual environments, one per pinned requirements file, rebuilt only
# when the file or the Python version changes.
# ---------------------------------------------------------------------------
ensure_venv() {
    local name="$1" requirements="$2"
    local venv="$venv_root/$name"
    local stamp_file="$venv/.requirements-stamp"
    local stamp
    stamp="$(
        {
            sha256sum "$requirements"
            python3 --version
        } | sha256sum | cut -d' ' -f1
    )"

    if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp_file" 2>/dev/null)" = "$stamp" ]; then
        echo "venv $name is up to date ($venv)"
        return 0
    fi

    step "creating venv $name from $requirements"
    rm -rf "$venv"
    python3 -m venv "$venv" || return 1
    timeout "$pip_timeout" "$venv/bin/python" -m pip install -q -r "$requirements" || return 1
    "$venv/bin/python" -m pip check || return 1
    echo "$stamp" >"$stamp_file"
}

venv_v03="$venv_root/v03"
venv_v03_ready=0
if ensure_venv v03 tests/sdk/requirements-v03.txt; then
    venv_v03_ready=1
else
    fail_step "create Python venv v03"
fi

venv_browser="$venv_root/browser"
venv_browser_ready=0
if ensure_venv browser tests/browser/requirements.txt; then
    venv_browser_ready=1
else
    fail_step "create Python venv browser"
fi

# OTLP suites: the AgentOps SDK 0.4.21 (tests/sdk/v04) and a plain
# OpenTelemetry SDK client (tests/otel), one venv each.
venv_v04="$venv_root/v04"
venv_v04_ready=0
if ensure_venv v04 tests/sdk/requirements-v04.txt; then
    venv_v04_ready=1
else
    fail_step "create Python venv v04"
fi

venv_otel="$venv_root/otel"
venv_otel_ready=0
if ensure_venv otel tests/otel/requirements.txt; then
    venv_otel_ready=1
else
    fail_step "create Python venv otel"
fi

# ---------------------------------------------------------------------------
# Rust build and tests.
# ---------------------------------------------------------------------------
binary="$target_dir/debug/tracewell"
binary_ready=0

step "cargo build"
if timeout "$build_timeout" cargo build --locked --all-targets; then
    binary_ready=1
else
    fail_step "cargo build"
fi

step "cargo test"
cargo_log="$log_dir/cargo-test.log"
timeout "$test_timeout" cargo test --locked --no-fail-fast 2>&1 | tee "$cargo_log"
cargo_status=${PIPESTATUS[0]}
cargo_results="$(grep -E '^test result:' "$cargo_log" || true)"
if [ -z "$cargo_results" ]; then
    summaries+=("cargo test: no test result line (exit $cargo_status)")
else
    while IFS= read -r line; do
        summaries+=("cargo test: $line")
    done <<<"$cargo_results"
fi
if [ "$cargo_status" -ne 0 ] || [ -z "$cargo_results" ]; then
    fail_step "cargo test (exit $cargo_status)"
fi

# ---------------------------------------------------------------------------
# End-to-end tests with the AgentOps SDK 0.3.26. pytest's exit code 5 means
# no test was collected, which counts as a failure here.
# ---------------------------------------------------------------------------
run_pytest() {
    local name="$1" venv="$2" suite="$3"
    local log="$log_dir/pytest-$name.log"

    step "pytest $suite"
    TRACEWELL_BIN="$binary" timeout "$test_timeout" \
        "$venv/bin/python" -m pytest "$suite" -ra 2>&1 | tee "$log"
    local status=${PIPESTATUS[0]}
    local result
    result="$(grep -E '^=+ .*(passed|failed|error|no tests ran).* =+$' "$log" | tail -n 1)"
    summaries+=("pytest $suite: ${result:-no summary line} (exit $status)")
    case "$status" in
        0) ;;
        5) fail_step "pytest $suite collected no tests" ;;
        *) fail_step "pytest $suite (exit $status)" ;;
    esac
}

if [ "$venv_v03_ready" -eq 1 ] && [ "$binary_ready" -eq 1 ]; then
    run_pytest v03 "$venv_v03" tests/sdk/v03
else
    fail_step "pytest tests/sdk/v03 not run: venv or binary missing"
fi

if [ "$venv_browser_ready" -eq 1 ] && [ "$binary_ready" -eq 1 ]; then
    run_pytest browser "$venv_browser" tests/browser
else
    fail_step "pytest tests/browser not run: venv or binary missing"
fi

# OTLP suites: SDK 0.4.21 end to end, and a plain OpenTelemetry client.
if [ "$venv_v04_ready" -eq 1 ] && [ "$binary_ready" -eq 1 ]; then
    run_pytest v04 "$venv_v04" tests/sdk/v04
else
    fail_step "pytest tests/sdk/v04 not run: venv or binary missing"
fi

if [ "$venv_otel_ready" -eq 1 ] && [ "$binary_ready" -eq 1 ]; then
    run_pytest otel "$venv_otel" tests/otel
else
    fail_step "pytest tests/otel not run: venv or binary missing"
fi

# ---------------------------------------------------------------------------
# Summary.
# ---------------------------------------------------------------------------
printf '\n==> summary\n'
for line in "${summaries[@]}"; do
    echo "$line"
done

if [ "${#failed_steps[@]}" -gt 0 ]; then
    printf '\nfailed steps:\n'
    printf '  %s\n' "${failed_steps[@]}"
    exit 1
fi
echo "all test steps passed"
