#!/usr/bin/env bash
# The `openserver` binary against a bare axum binary (benches/bare-axum),
# measured from outside with wrk: same wrk settings, loopback only, short
# rounds alternating between the two so that both see the same machine.
#
#   bash benches/http-wrk.sh            # ~90 s once built
#   ROUNDS=5 DURATION=4 bash benches/http-wrk.sh
#
# Rows: the token error path (wrong secret, 40001), jscode2session with an
# unknown code (40029), checksession on a valid session (0, repeatable),
# token issue (0; the bench's config raises the daily quota). Prints both
# absolute figures and the ratio per row; exits non-zero only when the run
# is broken (a server does not start, an answer is not the expected one,
# wrk fails), never on a missed target. See BENCHMARKS.md.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-3}
THREADS=1
CONNECTIONS=32

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
pids=()

cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

broken() {
    echo "http-wrk: broken run: $*" >&2
    exit 1
}

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        return 1
    fi
}

# --- tools -------------------------------------------------------------------
install_deb() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 ||
        { as_root apt-get update -qq >/dev/null 2>&1 &&
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; }
}
for tool in wrk:wrk curl:curl python3:python3-minimal; do
    if ! command -v "${tool%%:*}" >/dev/null; then
        echo "installing ${tool#*:} from Debian's packages…"
        install_deb "${tool#*:}" || broken "${tool%%:*} is missing and could not be installed (apt-get install ${tool#*:})"
    fi
done

# --- builds ------------------------------------------------------------------
executable() {
    grep -o '"executable":"[^"]*"' | tail -n 1 | sed 's/^"executable":"//; s/"$//'
}
# OPENSERVER=path/to/openserver measures that build instead (before/after).
if [ -n "${OPENSERVER:-}" ]; then
    openserver=$OPENSERVER
else
    echo "building the release openserver and bare-axum…"
    openserver=$(cd "$root" && cargo build --release --quiet --bin openserver \
        --message-format=json-render-diagnostics | executable) || broken "cargo build of openserver failed"
fi
echo "building bare-axum…"
bare=$(cargo build --release --quiet --locked --manifest-path "$root/benches/bare-axum/Cargo.toml" \
    --message-format=json-render-diagnostics | executable) || broken "cargo build of bare-axum failed"
[ -x "$openserver" ] && [ -x "$bare" ] || broken "no executable out of cargo build"

axum_version() { awk '/^name = "axum"$/ { getline; gsub(/"/, "", $3); print $3 }' "$1"; }
axum_main=$(axum_version "$root/Cargo.lock")
axum_bare=$(axum_version "$root/benches/bare-axum/Cargo.lock")
if [ "$axum_main" != "$axum_bare" ]; then
    echo "WARNING: axum $axum_main in Cargo.lock but $axum_bare in benches/bare-axum/Cargo.lock:" \
        "copy the crate's Cargo.lock there and rebuild, or the baseline is another axum" >&2
fi

# --- the servers -------------------------------------------------------------
APPID=wxbench0000000001
SECRET=bench-app-secret-0001
SDK_KEY=bench-sdk-key-0000000001
USER_ID=u-bench
cat >"$work/config.json" <<JSON
{
  "id_secret": "benches/http-wrk.sh: loopback only, nothing to keep",
  "apps": [{"appid": "$APPID", "secret": "$SECRET", "team": "team-bench"}],
  "users": [{"id": "$USER_ID"}],
  "sdk_keys": ["$SDK_KEY"],
  "limits": {"max_access_tokens_per_day": 100000000}
}
JSON

# start NAME COMMAND…: runs it, waits for its "listening on http://ADDR"
# line and sets ADDR.
start() {
    local name=$1
    shift
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pids+=("$!")
    local line=""
    for _ in $(seq 100); do
        line=$(head -n 1 "$work/$name.out" 2>/dev/null || true)
        case $line in *"listening on http://"*) break ;; esac
        kill -0 "$!" 2>/dev/null || broken "$name exited: $(cat "$work/$name.err")"
        sleep 0.1
    done
    case $line in *"listening on http://"*) ;; *) broken "$name printed no address within 10 s" ;; esac
    ADDR=${line##*http://}
}
# `--log warn`: a quiet server, as in production; each request's `info`
# line is off (the bench measures the server, not its stderr).
start openserver "$openserver" --listen 127.0.0.1:0 --config "$work/config.json" --log warn
OS=$ADDR
start bare "$bare" 127.0.0.1:0
BARE=$ADDR

json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1"; }

# errcode_of URL: the errcode of a GET's answer.
errcode_of() { curl -sf "$1" | json_field errcode || echo "no answer"; }

expect() { # expect ERRCODE URL WHAT
    local got
    got=$(errcode_of "$2")
    [ "$got" = "$1" ] || broken "$3: expected errcode $1, got $got from ${2%%\?*}"
}

# --- a valid session for checksession ----------------------------------------
code=$(curl -sf -X POST "http://$OS/openserver/sdk/login_code" \
    -H "Authorization: Bearer $SDK_KEY" -H 'Content-Type: application/json' \
    -d "{\"appid\":\"$APPID\",\"principal\":{\"uid\":\"$USER_ID\"}}" | json_field code) ||
    broken "sdk/login_code did not answer"
[ -n "$code" ] || broken "sdk/login_code gave no code"
session=$(curl -sf "http://$OS/openserver/sns/jscode2session?appid=$APPID&secret=$SECRET&js_code=$code&grant_type=authorization_code") ||
    broken "jscode2session did not answer"
openid=$(json_field openid <<<"$session")
session_key=$(json_field session_key <<<"$session")
[ -n "$openid" ] && [ -n "$session_key" ] || broken "jscode2session gave no session: $(json_field errmsg <<<"$session")"
signature=$(python3 -c 'import hashlib, hmac, sys; print(hmac.new(sys.argv[1].encode(), b"", hashlib.sha256).hexdigest())' "$session_key")

token_url="/openserver/cgi-bin/token?grant_type=client_credential&appid=$APPID&secret=$SECRET"
# A fresh token for each checksession run: the token row replaces tokens
# (an app keeps its last two).
checksession_url() {
    local token
    token=$(curl -sf "http://$OS$token_url" | json_field access_token) || broken "no access token"
    [ -n "$token" ] || broken "no access token"
    echo "/openserver/wxa/checksession?access_token=$token&openid=$openid&signature=$signature&sig_method=hmac_sha256"
}

ROWS=(token_error jscode2session_unknown checksession_valid token_issue)
declare -A WHAT=(
    [token_error]="cgi-bin/token, wrong secret (40001)"
    [jscode2session_unknown]="jscode2session, unknown code (40029)"
    [checksession_valid]="checksession, valid session (0)"
    [token_issue]="cgi-bin/token, token issue (0)"
)
declare -A TARGET=([token_error]=0.9 [jscode2session_unknown]=0.9 [checksession_valid]=0.9 [token_issue]=0.8)
declare -A ERRCODE=([token_error]=40001 [jscode2session_unknown]=40029 [checksession_valid]=0 [token_issue]=0)
url_of() {
    case $1 in
        token_error) echo "/openserver/cgi-bin/token?grant_type=client_credential&appid=$APPID&secret=wrong-secret-0000000" ;;
        jscode2session_unknown) echo "/openserver/sns/jscode2session?appid=$APPID&secret=$SECRET&js_code=00112233445566778899aabbccddeeff&grant_type=authorization_code" ;;
        checksession_valid) checksession_url ;;
        token_issue) echo "$token_url" ;;
    esac
}

# rps URL SECONDS: wrk's requests per second; a socket error or a non-2xx
# answer breaks the run.
rps() {
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2"s "$1" 2>&1) || broken "wrk failed: $out"
    if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
        broken "wrk saw errors on ${1%%\?*}: $(grep -E 'Non-2xx|Socket errors' <<<"$out")"
    fi
    awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $ROUNDS rounds alternating; openserver --log warn; axum $axum_main"

# Warm both up (connections, allocator, caches).
rps "http://$OS$(url_of token_error)" 1 >/dev/null
rps "http://$BARE$(url_of token_error)" 1 >/dev/null

results="$work/results"
: >"$results"
for round in $(seq "$ROUNDS"); do
    for row in "${ROWS[@]}"; do
        url=$(url_of "$row")
        expect "${ERRCODE[$row]}" "http://$OS$url" "$row"
        # Alternate which goes first, so that neither always follows the other.
        if [ $((round % 2)) = 1 ]; then order="openserver bare"; else order="bare openserver"; fi
        for who in $order; do
            if [ "$who" = openserver ]; then host=$OS; else host=$BARE; fi
            measured=$(rps "http://$host$url" "$DURATION")
            echo "$row $round $who $measured" >>"$results"
        done
        expect "${ERRCODE[$row]}" "http://$OS$url" "$row (after the run)"
    done
    echo "round $round of $ROUNDS done"
done

echo
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
targets=""
for row in "${ROWS[@]}"; do targets+="$row=${TARGET[$row]}=${WHAT[$row]};"; done
python3 - "$results" "$targets" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    row, rnd, who, rps = line.split()
    rows.setdefault(row, {}).setdefault(int(rnd), {})[who] = float(rps)
print("| row | openserver req/s (median, min–max) | bare axum req/s (median, min–max) | ratio (median, min–max) | target | |")
print("|---|---|---|---|---|---|")
for spec in filter(None, sys.argv[2].split(";")):
    row, target, what = spec.split("=", 2)
    rounds = rows[row]
    os_ = [r["openserver"] for r in rounds.values()]
    bare = [r["bare"] for r in rounds.values()]
    ratios = [r["openserver"] / r["bare"] for r in rounds.values()]
    ratio = statistics.median(ratios)
    fmt = lambda xs: f"{statistics.median(xs):,.0f} ({min(xs):,.0f}–{max(xs):,.0f})"
    print(f"| {what} | {fmt(os_)} | {fmt(bare)} | **{ratio:.2f}×** ({min(ratios):.2f}–{max(ratios):.2f}) "
          f"| ≥ {target}× | {'met' if ratio >= float(target) else 'missed'} |")
PY
