#!/usr/bin/env bash
# Backfill benchmark: "Pull historical NPS scores" from the SatisMeter emulator on loopback.
#
# In one run:
#   1. read:   bench_backfill reads every page of RESPONSES responses from satismeter-emulator as
#              a plain client that only reads them (host/net/http_client, one connection);
#   2. job:    a fresh host backfills the same pages through the job runner; responses per second
#              and the ratio to (1); the host's peak resident memory (VmHWM) at the end;
#   3. large:  a fresh host and emulator with LARGE responses: rate and peak resident memory.
# Each host runs on its own fresh data directory with 1,000 pool users (two in three of them End
# Users) in 50 companies, so that matching and rollups happen as in production.
#
# Settings (environment): RESPONSES (100000), LARGE (1000000; 0 skips step 3), HOST_THREADS (2),
# TIMEOUT (seconds per job, 900), TRIBUTARY_BUILD_DIR (build), BENCH_KEEP=1 keeps the temporary
# directory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
build=${TRIBUTARY_BUILD_DIR:-$root/build}
responses=${RESPONSES:-100000}
large=${LARGE:-1000000}
host_threads=${HOST_THREADS:-2}
job_timeout=${TIMEOUT:-900}

tributary=$build/bin/tributary
emulator=$build/bin/satismeter-emulator
helper=$build/bench/bench_backfill
for f in "$tributary" "$emulator" "$helper"; do
    if [ ! -x "$f" ]; then
        echo "run.sh: $f is missing; build first (targets tributary satismeter-emulator" \
            "bench_backfill tributary_satismeter)" >&2
        exit 1
    fi
done
if [ "$job_timeout" -gt 1800 ]; then
    echo "run.sh: a job is limited to 1800 seconds" >&2
    exit 1
fi

project=5f1e2d3c4b5a697887766554
key=bench-read-key-7c1d
token=bench-admin-token-0123456789abcdef
work=$(mktemp -d "${TMPDIR:-/tmp}/tributary-backfill.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# Starts an emulator with $1 responses; sets emulator_url and emulator_pid.
start_emulator() {
    local name=emulator-$1
    "$emulator" --listen 127.0.0.1:0 --responses "$1" --project "$project" --api-key "$key" \
        >"$work/$name.out" 2>"$work/$name.out.err" &
    emulator_pid=$!
    pids+=("$emulator_pid")
    emulator_url=$(wait_listening "$work/$name.out" "$emulator_pid")
}

# Starts a host on a fresh data directory; sets host_url and host_pid.
start_host() {
    local name=host-$1
    TRIBUTARY_ADMIN_TOKEN=$token "$tributary" serve --listen 127.0.0.1:0 \
        --data-dir "$work/$name-data" --threads "$host_threads" --log-level warn \
        >"$work/$name.out" 2>"$work/$name.out.err" &
    host_pid=$!
    pids+=("$host_pid")
    host_url=$(wait_listening "$work/$name.out" "$host_pid")
}

stop() {
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# Runs one backfill job of the current emulator through the current host into $1.
run_job() {
    timeout $((job_timeout + 60)) "$helper" job --host "$host_url" --token "$token" \
        --emulator "$emulator_url" --project "$project" --key "$key" \
        --timeout "$job_timeout" >"$1" || true
}

echo "== machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)," \
    "$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)," \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "== settings: $responses and $large responses, page size 100, host --threads $host_threads"

# ---- 1. a plain client reads the pages ---------------------------------------------------------
start_emulator "$responses"
echo "== load before read: $(cut -d' ' -f1-3 /proc/loadavg)"
timeout 600 "$helper" read --emulator "$emulator_url" --project "$project" --key "$key" \
    >"$work/read.txt"

# ---- 2. the host backfills the same pages ------------------------------------------------------
start_host small
rss_start=$(vm_rss_mb "$host_pid")
echo "== load before job: $(cut -d' ' -f1-3 /proc/loadavg)"
run_job "$work/job.txt"
hwm_small=$(vm_hwm_mb "$host_pid")
db_small=$(du -sm "$work/host-small-data" | cut -f1)
stop "$host_pid"
stop "$emulator_pid"

# ---- 3. the large backfill, for memory ---------------------------------------------------------
if [ "$large" -gt 0 ]; then
    start_emulator "$large"
    start_host large
    echo "== load before large job: $(cut -d' ' -f1-3 /proc/loadavg)"
    run_job "$work/large.txt"
    hwm_large=$(vm_hwm_mb "$host_pid")
    db_large=$(du -sm "$work/host-large-data" | cut -f1)
    stop "$host_pid"
    stop "$emulator_pid"
fi
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- results ----------------------------------------------------------------------------------
read_rate=$(field "$work/read.txt" rate)
job_rate=$(field "$work/job.txt" rate)
ratio=$(awk -v j="$job_rate" -v r="$read_rate" 'BEGIN { printf "%.3f", j / r }')
printf '\n| run | responses | pages | seconds | responses/s | host VmHWM MB | data dir MB |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n'
printf '| plain read | %s | %s | %s | %s | | |\n' "$(field "$work/read.txt" responses)" \
    "$(field "$work/read.txt" pages)" "$(field "$work/read.txt" seconds)" "$read_rate"
printf '| backfill job | %s | %s | %s | %s | %s | %s |\n' "$(field "$work/job.txt" responses)" \
    "$(field "$work/job.txt" pages)" "$(field "$work/job.txt" seconds)" "$job_rate" \
    "$hwm_small" "$db_small"
if [ "$large" -gt 0 ]; then
    printf '| backfill job, large | %s | %s | %s | %s | %s | %s |\n' \
        "$(field "$work/large.txt" responses)" "$(field "$work/large.txt" pages)" \
        "$(field "$work/large.txt" seconds)" "$(field "$work/large.txt" rate)" "$hwm_large" \
        "$db_large"
fi
printf '\nbackfill / plain read: %s; host resident memory after start: %s MB\n' "$ratio" \
    "$rss_start"
for f in job large; do
    if [ -f "$work/$f.txt" ] && [ "$(field "$work/$f.txt" state)" != succeeded ]; then
        echo "run.sh: the $f backfill did not succeed: $(cat "$work/$f.txt")" >&2
        exit 1
    fi
done
