#!/usr/bin/env bash
# Measures Tracewell's REST ingest: durable events per second with 25-event and
# 500-event create_events batches, latency at half the 25-event peak rate, and
# the server's memory when idle and under load.
#
# Every run starts `tracewell serve` on a fresh temporary data folder on
# 127.0.0.1 and stops it afterwards. The load generator runs beside the server
# on the same cores, without CPU pinning, so both share the machine.
#
# Usage: scripts/bench.sh   (settings below come from the environment)
#   RUNS         runs per figure (default 3)
#   DURATION     seconds per run, warm-up included (default 12)
#   WARMUP       seconds at the start of each run left out of the figures (default 2)
#   CONCURRENCY  requests in flight for the 25-event peak runs (default 64)
#   CONCURRENCY_500  requests in flight for the 500-event peak runs (default 16)
#   OPEN_CONCURRENCY  requests in flight allowed for the half-rate runs (default 64)
#   SESSIONS     sessions per run (default 16)
#   EVENT_BYTES  text bytes per event (default 1024)
#   OUT_DIR      folder for the JSON reports and the summary (default: a new temp folder)
# Needs cargo, curl and jq.
set -euo pipefail

RUNS=${RUNS:-3}
DURATION=${DURATION:-12}
WARMUP=${WARMUP:-2}
CONCURRENCY=${CONCURRENCY:-64}
CONCURRENCY_500=${CONCURRENCY_500:-16}
OPEN_CONCURRENCY=${OPEN_CONCURRENCY:-64}
SESSIONS=${SESSIONS:-16}
EVENT_BYTES=${EVENT_BYTES:-1024}
OUT_DIR=${OUT_DIR:-$(mktemp -d -t tracewell-bench.XXXXXX)}

repo=$(cd "$(dirname "$0")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$repo/target}
tracewell="$target_dir/release/tracewell"
loadgen="$target_dir/release/tracewell-loadgen"
clock_ticks=$(getconf CLK_TCK)

server_pid=""
data_dir=""

fail() {
    echo "bench.sh: $*" >&2
    exit 1
}

for tool in cargo curl jq; do
    command -v "$tool" >/dev/null || fail "$tool is missing; install it and run again"
done

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
trap stop_server EXIT

# Starts a server on a fresh data folder; sets server_pid, server_url and api_key.
start_server() {
    data_dir=$(mktemp -d -t tracewell-bench-data.XXXXXX)
    api_key=$("$tracewell" keys create --data-dir "$data_dir" 2>"$data_dir/keys.log")
    "$tracewell" serve --listen 127.0.0.1:0 --data-dir "$data_dir" \
        >"$data_dir/stdout.log" 2>"$data_dir/stderr.log" &
    server_pid=$!

    server_url=""
    for _ in $(seq 1 300); do
        server_url=$(sed -n '1s/^tracewell listening on \(http:\/\/[^ ]*\)$/\1/p' "$data_dir/stdout.log")
        [[ -n "$server_url" ]] && break
        kill -0 "$server_pid" 2>/dev/null || fail "the server exited at start: $(cat "$data_dir/stderr.log")"
        sleep 0.1
    done
    [[ -n "$server_url" ]] || fail "the server printed no 'tracewell listening on' line within 30 s"
    curl -fsS "$server_url/health" >/dev/null || fail "GET $server_url/health failed"
}

# Prints a field of /proc/PID/status in KiB, e.g. VmRSS or VmHWM.
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

# Runs one load generator call against a fresh server and appends a row to
# results.tsv: case, run, durable events/s, p50 ms, p99 ms, idle RSS, peak RSS
# (VmHWM), server CPU seconds, generator CPU seconds, data folder MiB, failed
# requests, and CPU seconds used by other processes during the run (an
# estimate: the machine's busy time less the server's and the generator's).
run_case() {
    local case_name=$1 run=$2
    shift 2
    start_server
    sleep 1
    local idle_kib
    idle_kib=$(status_kib "$server_pid" VmRSS)
    local cpu_before busy_before
    cpu_before=$(cpu_seconds "$server_pid")
    busy_before=$(machine_busy_seconds)

    local report="$OUT_DIR/$case_name-$run.json"
    "$loadgen" --target "$server_url" --api-key "$api_key" --json \
        --duration "$DURATION" --warmup "$WARMUP" --sessions "$SESSIONS" \
        --event-bytes "$EVENT_BYTES" "$@" >"$report" \
        || fail "the load generator failed in $case_name run $run; see $report"

    local peak_kib server_cpu busy data_mib
    peak_kib=$(status_kib "$server_pid" VmHWM)
    server_cpu=$(awk -v a="$cpu_before" -v b="$(cpu_seconds "$server_pid")" 'BEGIN { printf "%.2f", b - a }')
    busy=$(awk -v a="$busy_before" -v b="$(machine_busy_seconds)" 'BEGIN { printf "%.2f", b - a }')
    data_mib=$(du -sm "$data_dir" | cut -f1)
    stop_server

    jq -r --arg case "$case_name" --arg run "$run" --arg idle "$idle_kib" --arg peak "$peak_kib" \
        --arg server_cpu "$server_cpu" --arg busy "$busy" --arg data "$data_mib" \
        'def round1: . * 10 | round / 10;
         def round2: . * 100 | round / 100;
         [$case, $run, (.durable_events_per_second | floor), (.latency_ms.p50 | round1),
          (.latency_ms.p99 | round1), $idle, $peak, $server_cpu, (.generator_cpu_seconds | round2),
          $data, .requests.non_2xx + .requests.timeouts + .requests.transport_errors,
          (($busy | tonumber) - ($server_cpu | tonumber) - .generator_cpu_seconds | round2)] | @tsv' \
        "$report" >>"$OUT_DIR/results.tsv"
    local row
    row=$(tail -n1 "$OUT_DIR/results.tsv")
    echo "  $case_name run $run: $(cut -f3 <<<"$row") durable events/s, p99 $(cut -f5 <<<"$row") ms" >&2
}

# Prints "median (min-max)" of column $2 of the rows of case $1.
summarize() {
    awk -F'\t' -v case_name="$1" -v column="$2" '$1 == case_name { print $column }' "$OUT_DIR/results.tsv" \
        | sort -g \
        | awk '{ values[NR] = $1 }
               END {
                   if (NR == 0) { print "n/a"; exit }
                   median = (NR % 2) ? values[(NR + 1) / 2] : (values[NR / 2] + values[NR / 2 + 1]) / 2
                   printf "%s (%s-%s)\n", median, values[1], values[NR]
               }'
}

# Prints the median of column $2 of the rows of case $1.
median() {
    summarize "$1" "$2" | cut -d' ' -f1
}

echo "building release binaries" >&2
(cd "$repo" && cargo build --release --bin tracewell --bin tracewell-loadgen)

mkdir -p "$OUT_DIR"
: >"$OUT_DIR/results.tsv"
echo "reports in $OUT_DIR" >&2

for run in $(seq 1 "$RUNS"); do
    run_case peak-25 "$run" --batch-size 25 --concurrency "$CONCURRENCY"
    run_case peak-500 "$run" --batch-size 500 --concurrency "$CONCURRENCY_500"
done

peak_events=$(median peak-25 3)
half_rate=$(awk -v events="$peak_events" 'BEGIN { printf "%.1f", events / 2 / 25 }')
echo "half of the 25-event peak: $half_rate requests/s" >&2
for run in $(seq 1 "$RUNS"); do
    run_case half-25 "$run" --batch-size 25 --concurrency "$OPEN_CONCURRENCY" --rate "$half_rate"
done

{
    echo "machine: $(nproc) cores, $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)," \
        "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo); $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "settings: RUNS=$RUNS DURATION=$DURATION WARMUP=$WARMUP CONCURRENCY=$CONCURRENCY" \
        "CONCURRENCY_500=$CONCURRENCY_500 OPEN_CONCURRENCY=$OPEN_CONCURRENCY SESSIONS=$SESSIONS EVENT_BYTES=$EVENT_BYTES"
    echo "figures: median (min-max) over $RUNS runs; RSS in KiB; CPU in seconds per run"
    columns=(3 4 5 6 7 8 9 12 10 11)
    headers=("durable events/s" "p50 ms" "p99 ms" "idle RSS KiB" "peak RSS KiB" "server CPU s"
        "generator CPU s" "other CPU s" "data MiB" "failed requests")
    line="case"
    for header in "${headers[@]}"; do line+=" | $header"; done
    echo "$line"
    for case_name in peak-25 peak-500 half-25; do
        line="$case_name"
        for column in "${columns[@]}"; do line+=" | $(summarize "$case_name" "$column")"; done
        echo "$line"
    done
} | tee "$OUT_DIR/summary.txt"
