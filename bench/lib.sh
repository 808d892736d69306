# lib.sh: shell helpers shared by the benchmark scripts (sourced, not run).

# Waits for "listening on http://HOST:PORT" in a server's output and prints the URL; shows the
# server's output and fails if it exits or does not listen within 20 seconds.
wait_listening() {
    local out=$1 pid=$2
    for _ in $(seq 1 200); do
        if grep -q '^listening on ' "$out" 2>/dev/null; then
            sed -n 's/^listening on //p' "$out" | head -1
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo "run.sh: server did not start; its output:" >&2
    cat "$out" "$out.err" >&2 || true
    return 1
}

# Reads KEY's value from the "RESULT key=value ..." line of a file.
field() {
    sed -n "s/^RESULT\( .*\)\{0,1\} $2=\([^ ]*\).*/\2/p" "$1" | head -1
}

# Peak and current resident memory of a process, in MB.
vm_hwm_mb() {
    awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}
vm_rss_mb() {
    awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}
