#!/usr/bin/env bash
# Measures OTLP trace ingest of Tracewell and of Arize Phoenix under the same
# load, in the same run: stored-and-readable spans per second, p50 and p99
# request latency, and the Tracewell/Phoenix ratio of each pair of runs.
#
# The load is `tracewell-loadgen --workload otlp`: protobuf export requests of
# agent-shaped traces (one agent span, five LLM and four tool spans each),
# sent back to back by CONCURRENCY workers for DURATION seconds. After each
# run the generator reads a sample of the acknowledged traces back (Tracewell:
# /public/v1/traces/{id}; Phoenix: /v1/projects/default/spans?trace_id=...)
# and times when all of them were readable, because Phoenix responds before
# it stores.
#
# Tracewell and Phoenix runs alternate, RUNS of each, each on a fresh data
# folder. Phoenix runs with its default SQLite store, from a virtual
# environment made under $CARGO_TARGET_DIR/bench-venvs/phoenix with the
# version pinned in scripts/bench-requirements-phoenix.txt.
#
# Phoenix's OTLP gRPC server listens on every interface, so every server and
# the generator run inside a network namespace of their own (unshare --net)
# whose only interface is loopback: no traffic can leave it.
#
# Usage: scripts/bench-otlp.sh   (settings below come from the environment)
#   RUNS                runs of each server (default 3)
#   DURATION            seconds of load per run, warm-up included (default 20)
#   WARMUP              seconds at the start left out of the latency figures (default 2)
#   CONCURRENCY         requests in flight (default 16)
#   TRACES_PER_REQUEST  traces of ten spans per request (default 10)
#   SPAN_BYTES          text bytes per span, half input and half output (default 600)
#   READ_BACK_TRACES    acknowledged traces sampled for the read-back (default 200)
#   READ_BACK_TIMEOUT   seconds after a run that the read-back waits (default 90)
#   OUT_DIR             folder for the JSON reports and the summary (default: a new temp folder)
# The whole script stops after 15 minutes. Needs cargo, python3 (3.11), curl,
# jq, unshare and ip; run it as root or where unprivileged user namespaces work.
set -euo pipefail

RUNS=${RUNS:-3}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-2}
CONCURRENCY=${CONCURRENCY:-16}
TRACES_PER_REQUEST=${TRACES_PER_REQUEST:-10}
SPAN_BYTES=${SPAN_BYTES:-600}
READ_BACK_TRACES=${READ_BACK_TRACES:-200}
READ_BACK_TIMEOUT=${READ_BACK_TIMEOUT:-90}
export RUNS DURATION WARMUP CONCURRENCY TRACES_PER_REQUEST SPAN_BYTES READ_BACK_TRACES READ_BACK_TIMEOUT

# Time bound of the whole script, and of one server start.
SCRIPT_TIMEOUT_SECONDS=900
START_TIMEOUT_SECONDS=120

repo=$(cd "$(dirname "$0")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
tracewell="$target_dir/release/tracewell"
loadgen="$target_dir/release/tracewell-loadgen"
venv="$target_dir/bench-venvs/phoenix"
requirements="$repo/scripts/bench-requirements-phoenix.txt"
phoenix_url=http://127.0.0.1:6006
clock_ticks=$(getconf CLK_TCK)

fail() {
    echo "bench-otlp.sh: $*" >&2
    exit 1
}

# Builds the binaries and the Phoenix environment, then runs this script again
# inside a new network namespace.
prepare_and_enter_namespace() {
    for tool in cargo python3 curl jq unshare ip timeout; do
        command -v "$tool" >/dev/null || fail "$tool is missing; install it and run again"
    done

    echo "building release binaries" >&2
    (cd "$repo" && cargo build --release --bin tracewell --bin tracewell-loadgen)

    if [[ ! -x "$venv/bin/phoenix" ]] || ! cmp -s "$requirements" "$venv/requirements.txt"; then
        echo "installing Arize Phoenix into $venv" >&2
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --upgrade pip
        "$venv/bin/pip" install --quiet -r "$requirements"
        cp "$requirements" "$venv/requirements.txt"
    fi

    OUT_DIR=${OUT_DIR:-$(mktemp -d -t tracewell-bench-otlp.XXXXXX)}
    mkdir -p "$OUT_DIR"
    export OUT_DIR
    echo "reports in $OUT_DIR" >&2

    local unshare_flags=(--net)
    [[ $(id -u) -eq 0 ]] || unshare_flags+=(--map-root-user)
    exec timeout --signal=TERM --kill-after=10 "$SCRIPT_TIMEOUT_SECONDS" \
        unshare "${unshare_flags[@]}" "$0" --in-namespace
}

server_pid=""
data_dir=""

stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
    if [[ -n "$data_dir" ]]; then
        rm -rf "$data_dir"
        data_dir=""
    fi
}

# Waits until GET $1 returns 2xx. Fails when the server exits or after
# START_TIMEOUT_SECONDS.
wait_for_health() {
    local url=$1 deadline=$((SECONDS + START_TIMEOUT_SECONDS))
    until curl -fsS "$url" >/dev/null 2>&1; do
        kill -0 "$server_pid" 2>/dev/null || fail "the server exited at start; see $data_dir"
        ((SECONDS < deadline)) || fail "GET $url did not answer within $START_TIMEOUT_SECONDS s"
        sleep 0.2
    done
}

# Starts Tracewell on a fresh data folder and sets server_pid, server_url and
# api_key.
start_tracewell() {
    data_dir=$(mktemp -d -t tracewell-bench-data.XXXXXX)
    api_key=$("$tracewell" keys create --data-dir "$data_dir" 2>"$data_dir/keys.log")
    "$tracewell" serve --listen 127.0.0.1:4318 --data-dir "$data_dir" \
        >"$data_dir/stdout.log" 2>"$data_dir/stderr.log" &
    server_pid=$!
    server_url=http://127.0.0.1:4318
    wait_for_health "$server_url/health"
}

# Starts Phoenix with its default SQLite store in a fresh working folder.
# PHOENIX_HOST binds the HTTP server to loopback, but the gRPC server binds to
# every interface whatever the settings, which the namespace confines.
start_phoenix() {
    data_dir=$(mktemp -d -t phoenix-bench-data.XXXXXX)
    PHOENIX_WORKING_DIR="$data_dir" PHOENIX_HOST=127.0.0.1 PHOENIX_PORT=6006 \
        PHOENIX_GRPC_PORT=4317 PHOENIX_TELEMETRY_ENABLED=false \
        "$venv/bin/phoenix" serve >"$data_dir/stdout.log" 2>"$data_dir/stderr.log" &
    server_pid=$!
    server_url=$phoenix_url
    wait_for_health "$server_url/healthz"
}

# Prints a field of /proc/PID/status in KiB, e.g. VmHWM.
status_kib() {
    awk -v field="$2:" '$1 == field { print $2 }' "/proc/$1/status"
}

# Prints the user plus system CPU seconds a process has used.
cpu_seconds() {
    awk -v ticks="$clock_ticks" '{ printf "%.2f", ($14 + $15) / ticks }' "/proc/$1/stat"
}

# Prints the CPU seconds all processes of the machine have used since boot
# (idle and I/O wait excluded).
machine_busy_seconds() {
    awk -v ticks="$clock_ticks" '$1 == "cpu" { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / ticks }' /proc/stat
}

# Runs the OTLP workload against server $1 (tracewell or phoenix) and appends
# a row to results.tsv. Its columns: server, run, stored-and-readable spans/s,
# durable spans/s (acknowledged after the warm-up), p50 ms, p99 ms, seconds
# from the last response until the sample was readable, whether all of it was,
# failed requests, server CPU s, generator CPU s, peak server RSS KiB and
# data MiB. The last column estimates the CPU seconds that other processes of
# the machine used meanwhile: the machine's busy time less the server's and
# the generator's. The namespace separates the network, not the CPUs.
run_case() {
    local server=$1 run=$2 auth
    if [[ $server == tracewell ]]; then
        start_tracewell
        auth=(--api-key "$api_key")
    else
        start_phoenix
        auth=(--no-auth)
    fi
    local cpu_before busy_before
    cpu_before=$(cpu_seconds "$server_pid")
    busy_before=$(machine_busy_seconds)

    local report="$OUT_DIR/$server-$run.json"
    "$loadgen" --workload otlp --target "$server_url" "${auth[@]}" --read-back "$server" \
        --json --duration "$DURATION" --warmup "$WARMUP" --concurrency "$CONCURRENCY" \
        --traces-per-request "$TRACES_PER_REQUEST" --span-bytes "$SPAN_BYTES" \
        --read-back-traces "$READ_BACK_TRACES" --read-back-timeout "$READ_BACK_TIMEOUT" \
        >"$report" || fail "the load generator failed in $server run $run; see $report"

    local server_cpu busy peak_kib data_mib
    server_cpu=$(awk -v a="$cpu_before" -v b="$(cpu_seconds "$server_pid")" 'BEGIN { printf "%.2f", b - a }')
    busy=$(awk -v a="$busy_before" -v b="$(machine_busy_seconds)" 'BEGIN { printf "%.2f", b - a }')
    peak_kib=$(status_kib "$server_pid" VmHWM)
    data_mib=$(du -sm "$data_dir" | cut -f1)
    stop_server

    jq -r --arg server "$server" --arg run "$run" --arg cpu "$server_cpu" \
        --arg busy "$busy" --arg peak "$peak_kib" --arg data "$data_mib" \
        'def round1: . * 10 | round / 10;
         def round2: . * 100 | round / 100;
         [$server, $run, (.read_back.readable_spans_per_second | floor),
          (.durable_events_per_second | floor), (.latency_ms.p50 | round1),
          (.latency_ms.p99 | round1), (.read_back.seconds_after_run | round2),
          .read_back.all_readable, .requests.non_2xx + .requests.timeouts + .requests.transport_errors,
          $cpu, (.generator_cpu_seconds | round2), $peak, $data,
          (($busy | tonumber) - ($cpu | tonumber) - .generator_cpu_seconds | round2)] | @tsv' \
        "$report" >>"$OUT_DIR/results.tsv"
    local row
    row=$(tail -n1 "$OUT_DIR/results.tsv")
    echo "  $server run $run: $(cut -f3 <<<"$row") stored-and-readable spans/s," \
        "p50 $(cut -f5 <<<"$row") ms, p99 $(cut -f6 <<<"$row") ms" >&2
}

# Prints "median (min-max)" of the numbers on standard input, one per line.
median_range() {
    sort -g | awk '{ values[NR] = $1 }
        END {
            if (NR == 0) { print "n/a"; exit }
            median = (NR % 2) ? values[(NR + 1) / 2] : (values[NR / 2] + values[NR / 2 + 1]) / 2
            printf "%s (%s-%s)\n", median, values[1], values[NR]
        }'
}

# Prints "median (min-max)" of column $2 of the rows of server $1.
summarize() {
    awk -F'\t' -v server="$1" -v column="$2" '$1 == server { print $column }' \
        "$OUT_DIR/results.tsv" | median_range
}

# Prints the Tracewell/Phoenix ratio of column $1 for each run, one per line.
ratios() {
    awk -F'\t' -v column="$1" '
        $1 == "tracewell" { tracewell[$2] = $column }
        $1 == "phoenix" { phoenix[$2] = $column }
        END {
            for (run in tracewell)
                if ((run in phoenix) && phoenix[run] > 0)
                    printf "%.1f\n", tracewell[run] / phoenix[run]
        }' "$OUT_DIR/results.tsv"
}

run_in_namespace() {
    ip link set lo up
    local interfaces
    interfaces=$(ip -o link show | awk -F': ' '{ print $2 }' | tr '\n' ' ')
    [[ $interfaces == "lo " ]] || fail "the namespace has interfaces other than lo: $interfaces"
    trap stop_server EXIT
    trap 'exit 143' TERM
    : >"$OUT_DIR/results.tsv"

    for run in $(seq 1 "$RUNS"); do
        run_case tracewell "$run"
        run_case phoenix "$run"
    done

    {
        echo "machine: $(nproc) cores, $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)," \
            "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo); $(date -u +%Y-%m-%dT%H:%MZ)"
        echo "phoenix: $(grep -v '^#' "$requirements" | tr '\n' ' ')"
        echo "settings: RUNS=$RUNS DURATION=$DURATION WARMUP=$WARMUP CONCURRENCY=$CONCURRENCY" \
            "TRACES_PER_REQUEST=$TRACES_PER_REQUEST SPAN_BYTES=$SPAN_BYTES" \
            "READ_BACK_TRACES=$READ_BACK_TRACES READ_BACK_TIMEOUT=$READ_BACK_TIMEOUT"
        echo "figures: median (min-max) over $RUNS runs"
        local columns=(3 4 5 6 7 9 10 11 14 12 13)
        local headers=("stored and readable spans/s" "durable spans/s" "p50 ms" "p99 ms"
            "readable s after run" "failed requests" "server CPU s" "generator CPU s"
            "other CPU s" "peak RSS KiB" "data MiB")
        local line="server"
        for header in "${headers[@]}"; do line+=" | $header"; done
        echo "$line"
        for server in tracewell phoenix; do
            line=$server
            for column in "${columns[@]}"; do line+=" | $(summarize "$server" "$column")"; done
            echo "$line"
        done
        echo "all samples readable: $(awk -F'\t' '{ printf "%s %s=%s; ", $1, $2, $8 }' "$OUT_DIR/results.tsv")"
        echo "ratio tracewell/phoenix, stored and readable spans/s: $(ratios 3 | median_range)"
        echo "ratio tracewell/phoenix, durable spans/s: $(ratios 4 | median_range)"
    } | tee "$OUT_DIR/summary.txt"
}

if [[ ${1:-} == --in-namespace ]]; then
    run_in_namespace
else
    prepare_and_enter_namespace
fi
