#!/usr/bin/env bash
# sibling_connector_test.sh: a connector built outside the tree against the installed SDK, loaded
# by a running host next to SatisMeter, its responses rolling up into the same Company NPS.
#
#   sibling_connector_test.sh <build-dir> <source-dir> <work-dir>
#
# Installs the SDK component of <build-dir> into <work-dir>/prefix, builds
# sdk/examples/pulse-nps as its own CMake project against that prefix and runs its tests,
# then serves both connectors on 127.0.0.1 and sends signed, badly signed and unsigned PulseNPS
# deliveries and a SatisMeter one. The host is stopped on exit, however the script ends.
set -euo pipefail

build=$(cd "$1" && pwd)
source=$(cd "$2" && pwd)
work=$3

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

server_pid=""
watchdog_pid=""
cleanup() {
    local status=$?
    if [[ -n $watchdog_pid ]]; then
        kill "$watchdog_pid" 2>/dev/null || true
    fi
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ $status -ne 0 && -f $work/server.log ]]; then
        echo "---- host log ----" >&2
        cat "$work/server.log" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

step() { echo "-- $*"; }

for needed in "$build/bin/tributary" "$build/plugins/libtributary_satismeter.so"; do
    [[ -f $needed ]] || fail "$needed is missing; build the project first"
done

# ---- the SDK, installed alone ------------------------------------------------------------------

step "installing the SDK component into $work/prefix"
cmake --install "$build" --component sdk --prefix "$work/prefix" >"$work/install.log"

# Only the public headers and the package files: no host binary, no host headers.
sdk_files='^\./include/tributary/[a-z_]+\.(h|hpp)$'
sdk_files+='|^\./lib(64)?/([^/]+/)?cmake/Tributary/[A-Za-z_.-]+$'
unexpected=$(cd "$work/prefix" && find . -type f | grep -Ev "$sdk_files" || true)
[[ -z $unexpected ]] || fail "the SDK install holds more than the SDK: $unexpected"
[[ -f $work/prefix/include/tributary/hmac.hpp ]] || fail "hmac.hpp was not installed"
config=$(find "$work/prefix" -name TributaryConfig.cmake)
[[ -n $config ]] || fail "TributaryConfig.cmake was not installed"
for file in TributaryConfigVersion.cmake TributaryTargets.cmake TributaryConnector.cmake \
    connector.map; do
    [[ -f $(dirname "$config")/$file ]] || fail "$file was not installed next to the config"
done

# The version file takes requests of the same major version only.
mkdir -p "$work/version-check"
cat >"$work/version-check/CMakeLists.txt" <<'EOF_CMAKE'
cmake_minimum_required(VERSION 3.25)
project(version_check LANGUAGES CXX)
find_package(Tributary ${WANT} CONFIG REQUIRED)
message(STATUS "found Tributary ${Tributary_VERSION}, ABI "
               "${Tributary_ABI_MAJOR}.${Tributary_ABI_MINOR}")
EOF_CMAKE
version_check() {
    rm -rf "$work/version-check/build"
    cmake -S "$work/version-check" -B "$work/version-check/build" -DWANT="$1" \
        -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
        >"$work/version-check.log" 2>&1
}
sdk_version=$(sed -n 's/^#define TRIBUTARY_SDK_VERSION "\(.*\)"$/\1/p' \
    "$source/sdk/include/tributary/version.hpp")
sdk_major=${sdk_version%%.*}
abi_major=$(sed -n 's/^#define TRIBUTARY_ABI_MAJOR \([0-9]*\)$/\1/p' \
    "$source/sdk/include/tributary/abi.h")
version_check "$sdk_major.0" ||
    { cat "$work/version-check.log" >&2; fail "a request for SDK $sdk_major.0 failed"; }
grep -q "found Tributary $sdk_version, ABI $abi_major\." "$work/version-check.log" ||
    fail "the package reports another version: $(cat "$work/version-check.log")"
if version_check "$((sdk_major + 1)).0"; then
    fail "a request for SDK $((sdk_major + 1)).0 was satisfied by $sdk_version"
fi

# ---- the sibling connector, its own project ----------------------------------------------------

step "building sdk/examples/pulse-nps against the installed SDK"
generator=()
if [[ -n ${CMAKE_GENERATOR:-} ]]; then
    generator=(-G "$CMAKE_GENERATOR")
fi
cmake -S "$source/sdk/examples/pulse-nps" -B "$work/pulse-build" "${generator[@]}" \
    -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$work/pulse-configure.log" ||
    { cat "$work/pulse-configure.log" >&2; fail "configuring pulse-nps failed"; }
found=$(grep '^Tributary_DIR:' "$work/pulse-build/CMakeCache.txt" | cut -d= -f2-)
[[ $found == "$work/prefix/"* ]] || fail "pulse-nps found the SDK at $found, not in the prefix"
cmake --build "$work/pulse-build" -j2 >"$work/pulse-build.log" 2>&1 ||
    { cat "$work/pulse-build.log" >&2; fail "building pulse-nps failed"; }
if grep -q 'warning:' "$work/pulse-build.log"; then
    grep 'warning:' "$work/pulse-build.log" >&2
    fail "pulse-nps builds with warnings"
fi
ctest --test-dir "$work/pulse-build" --output-on-failure >"$work/pulse-ctest.log" 2>&1 ||
    { cat "$work/pulse-ctest.log" >&2; fail "pulse-nps's own tests failed"; }

library="$work/pulse-build/plugins/libpulse_nps.so"
[[ -f $library ]] || fail "$library was not built"
exported=$(nm -D --defined-only "$library" | awk '{print $NF}' | sort -u)
[[ $exported == "tributary_connector_entry" ]] ||
    fail "libpulse_nps.so exports more than its entry symbol: $(echo "$exported" | tr '\n' ' ')"

# ---- a host with both connectors ----------------------------------------------------------------

step "serving PulseNPS and SatisMeter"
mkdir -p "$work/plugins" "$work/manifests"
cp "$library" "$build/plugins/libtributary_satismeter.so" "$work/plugins/"
cp "$source/sdk/examples/pulse-nps/pulse-nps.yaml" "$source/manifests/satismeter.yaml" \
    "$work/manifests/"

token="sdk-e2e-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
TRIBUTARY_ADMIN_TOKEN=$token "$build/bin/tributary" serve \
    --listen 127.0.0.1:0 --data-dir "$work/data" \
    --plugin-dir "$work/plugins" --manifest-dir "$work/manifests" \
    >"$work/server.log" 2>&1 &
server_pid=$!
# Should this script be killed outright, the host goes down with it.
(
    while kill -0 $$ 2>/dev/null; do
        sleep 1
    done
    kill "$server_pid" 2>/dev/null
) &
watchdog_pid=$!

base=""
for _ in $(seq 1 300); do
    base=$(sed -n 's/^listening on \(http:\/\/127\.0\.0\.1:[0-9]*\)$/\1/p' "$work/server.log")
    [[ -n $base ]] && break
    kill -0 "$server_pid" 2>/dev/null || fail "the host exited before listening"
    sleep 0.1
done
[[ -n $base ]] || fail "the host did not start listening within 30 s"
if grep -q 'connector refused' "$work/server.log"; then
    fail "the host refused a connector: $(grep 'connector refused' "$work/server.log")"
fi

# request METHOD PATH-OR-URL [BODY [HEADER...]]: prints the body, then the status on its own line.
request() {
    local method=$1 target=$2 body=${3:-} url
    shift 3 || shift $#
    [[ $target == http* ]] && url=$target || url=$base$target
    local args=(-sS -X "$method" -H "Authorization: Bearer $token"
        -H "Content-Type: application/json" -w '\n%{http_code}' "$url")
    for header in "$@"; do
        args+=(-H "$header")
    done
    if [[ -n $body ]]; then
        args+=(--data-binary "$body")
    fi
    curl "${args[@]}"
}

# expect STATUS RESPONSE: fails unless the response ended with that status; prints the body.
expect() {
    local want=$1 response=$2
    local got=${response##*$'\n'}
    local body=${response%$'\n'*}
    [[ $got == "$want" ]] || fail "expected HTTP $want, got $got: $body"
    printf '%s' "$body"
}

# field JSON EXPRESSION: evaluates a Python expression over the parsed JSON `j`.
field() {
    python3 -c 'import json, sys; j = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

catalog=$(expect 200 "$(request GET /api/v1/connectors)")
[[ $(field "$catalog" 'sorted(c["id"] for c in j)') == "['pulse-nps', 'satismeter']" ]] ||
    fail "the catalog does not list both connectors: $catalog"

step "creating a tenant, a company and its End Users"
expect 201 "$(request POST /api/v1/tenants '{"id":"acme","name":"Acme"}')" >/dev/null
expect 200 "$(request PUT /api/v1/tenants/acme/companies \
    '[{"externalId":"northwind","name":"Northwind"}]')" >/dev/null
expect 200 "$(request PUT /api/v1/tenants/acme/endusers '[
    {"email":"ada@northwind.example","companyExternalId":"northwind"},
    {"email":"bo@northwind.example","companyExternalId":"northwind"},
    {"email":"cy@northwind.example","companyExternalId":"northwind"}]')" >/dev/null

step "installing both connectors"
secret="whsec_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
pulse=$(expect 201 "$(request POST /api/v1/tenants/acme/installations \
    "{\"connector\":\"pulse-nps\",\"config\":{\"signingSecret\":\"$secret\"}}")")
satismeter=$(expect 201 "$(request POST /api/v1/tenants/acme/installations \
    '{"connector":"satismeter","config":{"projectId":"5f1e2d3c4b5a697887766554"}}')")
pulse_url=$(field "$pulse" 'j["webhookUrl"]')
satismeter_url=$(field "$satismeter" 'j["webhookUrl"]')
[[ $(field "$pulse" 'j["config"]["signingSecret"]') != "$secret" ]] ||
    fail "the installation shows its signing secret"

# sign SECRET BODY [SECONDS-AGO]: a Pulse-Signature header value.
sign() {
    python3 -c '
import hashlib, hmac, sys, time
secret, body, ago = sys.argv[1], sys.argv[2], int(sys.argv[3])
t = str(int(time.time()) - ago)
mac = hmac.new(secret.encode(), (t + "." + body).encode(), hashlib.sha256).hexdigest()
print("t=" + t + ",v1=" + mac)' "$1" "$2" "${3:-0}"
}

pulse_event() {
    printf '{"type":"response.completed","response":{"id":"%s","surveyId":"srv_q2",' "$1"
    printf '"channel":"email","score":%s,"comment":"%s","submittedAt":"2024-04-02T10:14:55Z",' \
        "$2" "$3"
    printf '"respondent":{"email":"%s"}}}' "$4"
}

step "sending PulseNPS deliveries"
good=$(pulse_event resp_bo_1 3 "Too slow lately" "Bo@Northwind.example")
answer=$(expect 200 "$(request POST "$pulse_url" "$good" \
    "Pulse-Signature: $(sign "$secret" "$good")")")
[[ $answer == '{"stored":1}' ]] || fail "a signed delivery answered $answer"

forged=$(pulse_event resp_cy_1 10 "Love it" "cy@northwind.example")
answer=$(expect 401 "$(request POST "$pulse_url" "$forged" \
    "Pulse-Signature: $(sign "not-the-secret" "$forged")")")
mismatch="no signature in the Pulse-Signature header matches the body"
[[ $(field "$answer" 'j["error"]') == "$mismatch" ]] ||
    fail "a badly signed delivery answered $answer"

answer=$(expect 401 "$(request POST "$pulse_url" "$forged")")
[[ $(field "$answer" 'j["error"]') == "missing Pulse-Signature header" ]] ||
    fail "an unsigned delivery answered $answer"

answer=$(expect 401 "$(request POST "$pulse_url" "$forged" \
    "Pulse-Signature: $(sign "$secret" "$forged" 3600)")")
[[ $(field "$answer" 'j["error"]') == *"seconds away from the current time" ]] ||
    fail "an hour-old delivery answered $answer"

step "sending a SatisMeter delivery for another End User of the same company"
fixture=$(cat "$source/tests/fixtures/satismeter/webhook_completed_promoter.json")
expect 200 "$(request POST "$satismeter_url" "$fixture")" >/dev/null

step "checking the Company NPS"
nps=$(expect 200 "$(request GET /api/v1/tenants/acme/companies/northwind/nps)")
summary=$(field "$nps" '(j["responses"], j["promoters"], j["passives"], j["detractors"], j["nps"])')
# ada's 10 from SatisMeter promotes, bo's 3 from PulseNPS detracts; cy's refused 10 is not there.
[[ $summary == "(2, 1, 0, 1, 0)" || $summary == "(2, 1, 0, 1, 0.0)" ]] ||
    fail "Company NPS is $summary, expected 2 responses: 1 promoter, 1 detractor, NPS 0: $nps"

user=$(expect 200 "$(request GET /api/v1/tenants/acme/endusers/bo@northwind.example)")
[[ $(field "$user" 'j["nps"]["score"]') == "3" ]] || fail "bo's NPS is not PulseNPS's 3: $user"
user=$(expect 200 "$(request GET /api/v1/tenants/acme/endusers/cy@northwind.example)")
[[ $(field "$user" 'j["nps"]') == "None" ]] || fail "a refused delivery was stored: $user"

if grep -q "$secret" "$work/server.log"; then
    fail "the host log shows the signing secret"
fi

step "ok"
