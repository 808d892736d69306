#!/usr/bin/env bash
# Ingest benchmark: SatisMeter webhooks into the real host against a bare Beast server.
#
# Starts the host on a fresh data directory, provisions one tenant (1,000 companies, 20,000
# End Users, the SatisMeter connector), then on loopback:
#   1. ceiling: wrk against bench_null_server, which reads each request and answers 200;
#   2. peak:    the same wrk settings against the host's webhook URL;
#      (1 and 2 alternate for ROUNDS rounds; the report takes medians)
#   3. paced:   bench_paced_load at half the host's peak rate, for the latency target.
# Afterwards, with the host stopped, it checks the store with sqlite3: every 2xx-answered
# delivery is stored exactly once and the Company and portfolio figures equal a recount.
#
# Settings (environment): ROUNDS (3), DURATION (seconds per wrk run, 10), CONNECTIONS (32),
# WRK_THREADS (1), HOST_THREADS (2), PACED_SECONDS (20), PACED_CONNECTIONS (CONNECTIONS),
# PACED_RATE (half the peak), TRIBUTARY_BUILD_DIR (build), BENCH_KEEP=1 keeps the temporary
# directory, PERF=1 profiles the host during the first peak run with perf (linux-perf;
# PERF_OPTS, default "-F 999 -g").
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
build=${TRIBUTARY_BUILD_DIR:-$root/build}
duration=${DURATION:-10}
connections=${CONNECTIONS:-32}
wrk_threads=${WRK_THREADS:-1}
host_threads=${HOST_THREADS:-2}
paced_seconds=${PACED_SECONDS:-20}
paced_connections=${PACED_CONNECTIONS:-$connections}
rounds=${ROUNDS:-3}

tributary=$build/bin/tributary
null_server=$build/bench/bench_null_server
paced_load=$build/bench/bench_paced_load
for f in "$tributary" "$null_server" "$paced_load"; do
    if [ ! -x "$f" ]; then
        echo "run.sh: $f is missing; build first (scripts/build)" >&2
        exit 1
    fi
done
for tool in wrk sqlite3 curl; do
    command -v "$tool" >/dev/null || {
        echo "run.sh: $tool is not installed (scripts/install-deps installs it)" >&2
        exit 1
    }
done
# Every setting is a whole number of at least 1; runs last 120 seconds at most.
for setting in ROUNDS="$rounds" DURATION="$duration" CONNECTIONS="$connections" \
    WRK_THREADS="$wrk_threads" HOST_THREADS="$host_threads" PACED_SECONDS="$paced_seconds" \
    PACED_CONNECTIONS="$paced_connections" PACED_RATE="${PACED_RATE:-1}"; do
    value=${setting#*=}
    if ! [[ $value =~ ^[1-9][0-9]{0,6}$ ]]; then
        echo "run.sh: ${setting%%=*} must be a whole number of at least 1, not '$value'" >&2
        exit 1
    fi
done
if [ "$duration" -gt 120 ] || [ "$paced_seconds" -gt 120 ]; then
    echo "run.sh: runs are limited to 120 seconds each" >&2
    exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tributary-ingest.XXXXXX")
host_pid=""
null_pid=""
load_pid=""  # wrk or bench_paced_load, while one runs
perf_pid=""
cleanup() {
    for pid in $load_pid $perf_pid $null_pid $host_pid; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $load_pid $perf_pid $null_pid $host_pid; do
        wait "$pid" 2>/dev/null || true
    done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Runs a load generator in the background and waits for it, so that a signal is handled at
# once (bash runs traps only between commands, and wait is interruptible).
run_load() {
    local out=$1
    shift
    "$@" >"$out" 2>>"$out.err" &
    load_pid=$!
    local rc=0
    wait "$load_pid" || rc=$?
    load_pid=""
    return "$rc"
}

# CPU seconds a process (or one of its threads: /proc/PID/task/TID) has used so far.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "$1/stat"
}

# "tid:on-cpu:runqueue-wait" seconds for each thread of the host, busiest first (schedstat).
thread_cpu() {
    for t in /proc/"$1"/task/*; do
        awk -v tid="$(basename "$t")" '{ printf "%s:%.3f:%.3f\n", tid, $1 / 1e9, $2 / 1e9 }' \
            "$t/schedstat"
    done | sort -t: -k2 -rn | tr '\n' ' '
}

# wrk with the settings of every run; appends the CPU seconds it used (user + system).
run_wrk() {
    local url=$1 log_dir=$2 run=$3 out=$4
    local before
    children_cpu
    before=$children_cpu_s
    if ! run_load "$out" wrk -t"$wrk_threads" -c"$connections" -d"${duration}s" --timeout 10s \
        -s "$here/webhook.lua" "$url" -- "$hook_path" "$log_dir" "$run"; then
        echo "run.sh: wrk failed:" >&2
        cat "$out" "$out.err" >&2
        exit 1
    fi
    children_cpu
    awk -v a="$before" -v b="$children_cpu_s" 'BEGIN { printf "wrk_cpu_s=%.3f+0\n", b - a }' \
        >>"$out"
}

# Sets children_cpu_s: user + system CPU seconds of this shell's finished children (bash's
# times builtin, run in this shell rather than in a command substitution's copy of it).
children_cpu() {
    times >"$work/times.txt"
    children_cpu_s=$(sed -n 2p "$work/times.txt" | awk '{
        s = 0
        for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); s += p[1] * 60 + p[2] }
        printf "%.3f", s }')
}

# CPU cores wrk kept busy during a run.
wrk_cores() {
    sed -n 's/^wrk_cpu_s=//p' "$1" | awk -F+ -v d="$duration" '{ printf "%.2f", ($1 + $2) / d }'
}


echo "== machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)," \
    "load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "== settings: wrk -t$wrk_threads -c$connections -d${duration}s, host --threads" \
    "$host_threads, paced ${paced_seconds}s over $paced_connections connections"

# ---- the host -----------------------------------------------------------------------------
token=bench-admin-token-0123456789abcdef
TRIBUTARY_ADMIN_TOKEN=$token "$tributary" serve --listen 127.0.0.1:0 --data-dir "$work/data" \
    --threads "$host_threads" --log-level warn >"$work/host.out" 2>"$work/host.out.err" &
host_pid=$!
host_url=$(wait_listening "$work/host.out" "$host_pid")

api() {
    local method=$1 path=$2 file=$3
    curl -sS --fail-with-body -X "$method" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' --data-binary "@$file" "$host_url/api/v1$path"
}

echo '{"id":"bench","name":"Bench"}' >"$work/tenant.json"
api POST /tenants "$work/tenant.json" >/dev/null
awk 'BEGIN { printf "["; for (c = 0; c < 1000; c++) printf "%s{\"externalId\":\"c%03d\",\"name\":\"Company %d\",\"domains\":[\"c%03d.example\"]}", (c ? "," : ""), c, c, c; print "]" }' \
    >"$work/companies.json"
api PUT /tenants/bench/companies "$work/companies.json" >/dev/null
# 20,000 End Users in four requests of 5,000: each stays under the 1 MiB body limit.
for part in 0 1 2 3; do
    awk -v part="$part" 'BEGIN { printf "["; for (i = 0; i < 5000; i++) { u = part * 5000 + i; printf "%s{\"email\":\"user%d@c%03d.example\",\"companyExternalId\":\"c%03d\",\"name\":\"User %d\"}", (i ? "," : ""), u, u % 1000, u % 1000, u }; print "]" }' \
        >"$work/users-$part.json"
    api PUT /tenants/bench/endusers "$work/users-$part.json" >/dev/null
done
echo '{"connector":"satismeter","config":{"projectId":"5f1e2d3c4b5a697887766554"}}' \
    >"$work/installation.json"
webhook_url=$(api POST /tenants/bench/installations "$work/installation.json" |
    sed -n 's/.*"webhookUrl":"\([^"]*\)".*/\1/p')
hook_path=/${webhook_url#http://*/}
hwm_provisioned=$(vm_hwm_mb "$host_pid")
echo "== provisioned 1000 companies, 20000 End Users; host VmHWM ${hwm_provisioned} MB"

# ---- 1 and 2. the ceiling and the host at its peak, in alternating rounds -----------------------
# The machine's speed drifts over a run (other tenants of the host, CPU boost): alternating the
# two and taking the median of each round's ratio keeps the drift out of the comparison.
"$null_server" 127.0.0.1 0 "$host_threads" >"$work/null.out" 2>"$work/null.out.err" &
null_pid=$!
null_url=$(wait_listening "$work/null.out" "$null_pid")
null_cpu=0
host_cpu=0
threads_before=$(thread_cpu "$host_pid")
for round in $(seq 1 "$rounds"); do
    cpu_before=$(cpu_seconds "/proc/$null_pid")
    run_wrk "$null_url" - $((900 + round)) "$work/ceiling-$round.txt"
    null_cpu=$(awk -v t="$null_cpu" -v a="$cpu_before" -v b="$(cpu_seconds "/proc/$null_pid")" \
        'BEGIN { printf "%.3f", t + b - a }')

    mkdir -p "$work/sent-$round"
    if [ "${PERF:-0}" = 1 ] && [ "$round" = 1 ]; then
        # Samples the host's threads with call graphs for the length of the first peak run.
        # shellcheck disable=SC2086 # PERF_OPTS is a list of options
        perf record ${PERF_OPTS:--F 999 -g} -p "$host_pid" -o "$work/perf.data" -- \
            sleep "$duration" >"$work/perf.out" 2>&1 &
        perf_pid=$!
    fi
    cpu_before=$(cpu_seconds "/proc/$host_pid")
    run_wrk "$host_url" "$work/sent-$round" "$round" "$work/peak-$round.txt"
    host_cpu=$(awk -v t="$host_cpu" -v a="$cpu_before" -v b="$(cpu_seconds "/proc/$host_pid")" \
        'BEGIN { printf "%.3f", t + b - a }')
    if [ -n "$perf_pid" ]; then
        wait "$perf_pid" || true
        perf_pid=""
        perf report -i "$work/perf.data" --no-children --percent-limit 0.5 --stdio \
            >"$work/perf-report.txt" 2>/dev/null || true
        echo "== profile of the first peak run: $work/perf-report.txt (BENCH_KEEP=1 keeps it)"
    fi
done
kill -TERM "$null_pid" && wait "$null_pid" || true
null_pid=""
hwm_peak=$(vm_hwm_mb "$host_pid")
threads_after=$(thread_cpu "$host_pid")

# ---- 3. the host at half its peak rate --------------------------------------------------------
# Medians over the rounds: of each run's rate and of each round's host/ceiling ratio.
median() { awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { printf "%s", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The median over the rounds of what a command prints for each run's file: over_rounds RUN CMD...
over_rounds() {
    local run=$1 r
    shift
    for r in $(seq 1 "$rounds"); do
        "$@" "$work/$run-$r.txt"
        echo
    done | median
}
rps_of() { field "$1" rps; }
peak_rps=$(over_rounds peak rps_of)
ceiling_rps=$(over_rounds ceiling rps_of)
ratio=$(for r in $(seq 1 "$rounds"); do
    awk -v h="$(field "$work/peak-$r.txt" rps)" -v c="$(field "$work/ceiling-$r.txt" rps)" \
        'BEGIN { printf "%.3f\n", h / c }'
done | median)
paced_rate=${PACED_RATE:-$(awk -v r="$peak_rps" 'BEGIN { printf "%d", r / 2 }')}
host_port=${host_url##*:}
if ! run_load "$work/paced.txt" "$paced_load" --port "$host_port" --path "$hook_path" \
    --rate "$paced_rate" --seconds "$paced_seconds" --connections "$paced_connections" \
    --run 500 --log "$work/paced-ok.log"; then
    echo "run.sh: bench_paced_load failed:" >&2
    cat "$work/paced.txt" "$work/paced.txt.err" >&2
    exit 1
fi
hwm_end=$(vm_hwm_mb "$host_pid")
wal_mb=$(awk -v b="$(stat -c %s "$work/data/tributary.db-wal" 2>/dev/null || echo 0)" \
    'BEGIN { printf "%.1f", b / 1048576 }')

kill -TERM "$host_pid"
wait "$host_pid" || true
host_pid=""

# ---- results --------------------------------------------------------------------------------
printf '\n| run | requests/s | p50 ms | p99 ms | answered | non-2xx | socket errors |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n'
peak_requests=0
in_flight=0
for round in $(seq 1 "$rounds"); do
    for run in ceiling peak; do
        f=$work/$run-$round.txt
        errors=$(($(field "$f" connect_errors) + $(field "$f" read_errors) + \
            $(field "$f" write_errors) + $(field "$f" timeouts)))
        printf '| %s %s (wrk) | %s | %s | %s | %s | %s | %s |\n' "$run" "$round" \
            "$(field "$f" rps)" "$(field "$f" p50_ms)" "$(field "$f" p99_ms)" \
            "$(field "$f" requests)" "$(field "$f" not_ok)" "$errors"
    done
    peak_requests=$((peak_requests + $(field "$work/peak-$round.txt" requests)))
    # Sent, but neither a 2xx nor another status read back: still in flight when wrk stopped.
    in_flight=$((in_flight + $(field "$work/peak-$round.txt" sent) - \
        $(field "$work/peak-$round.txt" ok) - $(field "$work/peak-$round.txt" not_ok)))
done
f=$work/paced.txt
printf '| host paced at %s/s | %s | %s | %s | %s | %s | %s |\n' "$paced_rate" "$(field "$f" rps)" \
    "$(field "$f" p50_ms)" "$(field "$f" p99_ms)" "$(field "$f" requests)" "$(field "$f" not_ok)" \
    "$(field "$f" errors)"
echo
echo "medians over $rounds rounds: ceiling $ceiling_rps/s, host $peak_rps/s; host / ceiling: $ratio"
echo "CPU in the ceiling runs: wrk $(over_rounds ceiling wrk_cores) cores," \
    "null server $(awk -v c="$null_cpu" -v d="$duration" -v n="$rounds" 'BEGIN { printf "%.2f", c / d / n }') cores;" \
    "in the peak runs: wrk $(over_rounds peak wrk_cores) cores"
echo "paced p99.9: $(field "$f" p999_ms) ms, max $(field "$f" max_ms) ms"
echo "host CPU in the peak runs: $(awk -v c="$host_cpu" -v n="$peak_requests" -v d="$duration" \
    -v r="$rounds" 'BEGIN { printf "%.2f s (%.2f cores), %.0f us per request", c, c / d / r, \
    c * 1e6 / n }')"
echo "host threads (tid:on-cpu:waiting-for-cpu seconds), before / after the peak runs: $threads_before / $threads_after"
echo "host VmHWM: ${hwm_provisioned} MB after provisioning, ${hwm_peak} MB after the peak runs," \
    "${hwm_end} MB at the end; WAL file ${wal_mb} MB before the host stopped"

# ---- checks ---------------------------------------------------------------------------------
cat "$work"/sent-*/sent-*.log >"$work/sent.log"
touch "$work/paced-ok.log"
{
    # A paced run that lost connections or fell behind its schedule did not measure what it
    # claims, and the deliveries it never heard back about are in no log.
    paced_errors=$(field "$work/paced.txt" errors)
    paced_abort=$(field "$work/paced.txt" backlog_abort)
    if [ "${paced_errors:-1}" = 0 ] && [ "${paced_abort:-1}" = 0 ]; then
        echo "ok: paced run complete: no connection errors, never behind its schedule"
    else
        echo "FAIL: paced run incomplete: ${paced_errors:-?} connection errors," \
            "backlog abort ${paced_abort:-?}"
    fi
    sqlite3 -batch -bail "$work/data/tributary.db" \
        -cmd "CREATE TEMP TABLE sent (id TEXT, version INTEGER)" \
        -cmd "CREATE TEMP TABLE paced_ok (id TEXT, version INTEGER)" \
        -cmd ".separator ' '" -cmd ".import $work/sent.log sent" \
        -cmd ".import $work/paced-ok.log paced_ok" \
        -cmd ".parameter set @in_flight $in_flight" \
        -cmd ".parameter set @sent_lines $(wc -l <"$work/sent.log")" \
        -cmd ".parameter set @paced_lines $(wc -l <"$work/paced-ok.log")" \
        <"$here/check.sql" 2>&1 || echo "FAIL: sqlite3 could not run the check"
} | tee "$work/check.txt"
if grep -q 'FAIL' "$work/check.txt" || ! grep -q '^stored: ' "$work/check.txt"; then
    echo "run.sh: the store check failed" >&2
    exit 1
fi
