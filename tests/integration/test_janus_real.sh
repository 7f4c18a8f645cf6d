# SPDX-License-Identifier: MIT
# test_janus_real.sh — a real Janus (Debian's janus package, see
# scripts/deps.sh) on loopback, its HTTP sample event handler pointed at
# herald, driven through its REST and Admin APIs (create a session, attach
# janus.plugin.echotest, a message, a keepalive, an Admin custom_event,
# detach, destroy). The janus.* events must reach a server notifier
# listener (herald-cli listen), a `janus.*` webhook endpoint (received and
# verified by herald-cli webhook-listen) and the history once each: the
# run's janus event ids in history are the ids delivered to the webhook,
# none twice, each webhook-id msg_<event id>_<endpoint id>, in history's
# order (herald runs with --webhook-max-in-flight 1, so an endpoint's
# requests go one at a time, in id order). Four Janus runs: grouped
# indented JSON with the credentials in the backend URL; grouping=false,
# compact and gzip with backend_user/backend_pwd; the WebSockets event
# handler (wsevh) on /janus/ws; and a wrong password, which herald
# refuses (401), logs and counts (nothing stored, nothing delivered).
# Janus runs on free ports picked now; it, the listener and the webhook
# receiver are stopped by their PIDs.
. "$(dirname "$0")/lib.sh"
JANUS=${JANUS:-$(command -v janus)}
[ -x "$JANUS" ] || { echo "not ok - janus is not installed (scripts/deps.sh installs it)"; exit 1; }
MODS=$(dirname "$(ls /usr/lib/*/janus/plugins/libjanus_echotest.so | head -1)")/..
herald_start --webhook-max-in-flight 1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
metric() { curl -s "$URL/metrics" | sed -n "s/^$1 //p"; }

"$CLI" --server "$URL" listen > "$WORK/listen.out" 2> "$WORK/listen.err" &
LISTEN_PID=$!
PIDS+=("$LISTEN_PID")
wait_for "$WORK/listen.err" 'listening' || fail "listen did not start: $(cat "$WORK/listen.err")"

# A webhook endpoint for janus.*, delivered to webhook-listen.
SECRET="whsec_$(head -c 32 /dev/urandom | base64 -w0)"
"$CLI" webhook-listen --secret "$SECRET" --port 0 > "$WORK/hook.out" 2> "$WORK/hook.err" &
HOOK_PID=$!
PIDS+=("$HOOK_PID")
wait_for "$WORK/hook.err" '^listening on http://127.0.0.1:[0-9]+$' || fail "webhook-listen did not start: $(cat "$WORK/hook.err")"
HOOK_PORT=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$WORK/hook.err")
EP=$("$CLI" --server "$URL" webhooks add --url "http://127.0.0.1:$HOOK_PORT/janus" --event-types 'janus.*' \
     --secret "$SECRET" | jq -r .id)
expect_match "a janus.* webhook endpoint is added" '^ep_[A-Za-z0-9_-]+$' "$EP"

# janus_start NAME "handler options" [HANDLER]: a Janus named NAME with one
# plugin, one transport and one event handler (sampleevh unless HANDLER is
# given, e.g. wsevh); sets $JURL, $AURL, $JANUS_PID.
janus_start() {
  local dir=$WORK/janus-$1 hp ap evh=${3:-sampleevh} end=$((SECONDS + WAIT_S))
  mkdir -p "$dir"/{conf,plugins,transports,events,loggers}
  ln -s "$MODS/plugins/libjanus_echotest.so" "$dir/plugins/"
  ln -s "$MODS/transports/libjanus_http.so" "$dir/transports/"
  ln -s "$MODS/events/libjanus_$evh.so" "$dir/events/"
  if [ "$evh" = sampleevh ]; then
    echo "general: { enabled = true events = \"all\" max_retransmissions = 5 retransmissions_backoff = 100 $2 }"
  else
    echo "general: { enabled = true events = \"all\" $2 }"
  fi > "$dir/conf/janus.eventhandler.$evh.jcfg"
  echo 'general: { events = true }' > "$dir/conf/janus.plugin.echotest.jcfg"
  # The ports are picked before Janus binds them: one taken meanwhile makes
  # Janus exit ("Couldn't start webserver"), and it is started again.
  while :; do
    hp=$(free_port); ap=$(free_port)
    while [ "$ap" = "$hp" ]; do ap=$(free_port); done
    cat > "$dir/conf/janus.jcfg" <<JCFG
general: { configs_folder = "$dir/conf" plugins_folder = "$dir/plugins" transports_folder = "$dir/transports"
  events_folder = "$dir/events" loggers_folder = "$dir/loggers" debug_level = 4 debug_colors = false
  server_name = "$1" interface = "127.0.0.1" session_timeout = 60 admin_secret = "adm1n" }
media: { }
nat: { nice_debug = false ice_enforce_list = "lo" ignore_mdns = true }
events: { broadcast = true stats_period = 5 }
JCFG
    cat > "$dir/conf/janus.transport.http.jcfg" <<JCFG
general: { events = true json = "indented" base_path = "/janus" http = true port = $hp ip = "127.0.0.1" https = false acl = "127." }
admin: { admin_base_path = "/admin" admin_http = true admin_port = $ap admin_ip = "127.0.0.1" admin_https = false admin_acl = "127." }
JCFG
    "$JANUS" -F "$dir/conf" -C "$dir/conf/janus.jcfg" -o > "$dir/janus.log" 2>&1 &
    JANUS_PID=$!
    PIDS+=("$JANUS_PID")
    JURL=http://127.0.0.1:$hp/janus
    AURL=http://127.0.0.1:$ap/admin
    while kill -0 "$JANUS_PID" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do
      # answered by this Janus (by its name), not by whatever took the port
      curl -s -m 5 "$JURL/info" | grep -q "\"server-name\": *\"$1\"" && return 0
      sleep 0.05
    done
    kill -0 "$JANUS_PID" 2>/dev/null && break # still starting at the deadline
    wait "$JANUS_PID" 2>/dev/null
    grep -q "Couldn't start webserver" "$dir/janus.log" && [ "$SECONDS" -lt "$end" ] || break
  done
  janus_stop
  fail "janus $1 did not start: $(tail -20 "$dir/janus.log")"
  return 1
}

janus_stop() { kill -INT "$JANUS_PID" 2>/dev/null; wait "$JANUS_PID" 2>/dev/null; }

jpost() { curl -s -m 60 -H 'Content-Type: application/json' -d "$2" "$1"; }
id_of() { python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])'; }

# The REST cycle of the research notes; sets $SID, $HID, $OPAQUE.
janus_cycle() {
  OPAQUE=room-$1
  SID=$(jpost "$JURL" '{"janus":"create","transaction":"t1"}' | id_of)
  HID=$(jpost "$JURL/$SID" "{\"janus\":\"attach\",\"plugin\":\"janus.plugin.echotest\",\"opaque_id\":\"$OPAQUE\",\"transaction\":\"t2\"}" | id_of)
  jpost "$JURL/$SID/$HID" '{"janus":"message","body":{"audio":true,"video":true,"bitrate":0},"transaction":"t3"}' >/dev/null
  jpost "$JURL/$SID" '{"janus":"keepalive","transaction":"t4"}' >/dev/null
  jpost "$AURL" "{\"janus\":\"custom_event\",\"admin_secret\":\"adm1n\",\"schema\":\"herald.test\",\"data\":{\"run\":\"$1\",\"n\":9007199254740993},\"transaction\":\"t5\"}" >/dev/null
  jpost "$JURL/$SID/$HID" '{"janus":"detach","transaction":"t6"}' >/dev/null
  jpost "$JURL/$SID" '{"janus":"destroy","transaction":"t7"}' >/dev/null
}

# Counts the listener's events of emitter $1, keyed by what they are.
summary() { # file emitter sid
  python3 - "$@" <<'PY'
import json, sys, collections
path, emitter, sid = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = collections.Counter()
for line in open(path):
    ev = json.loads(line) if line.startswith("{") else None
    if not ev or not ev["type"].startswith("janus.") or ev["data"].get("emitter") != emitter:
        continue
    d, e = ev["data"], ev["data"].get("event")
    if ev["type"] in ("janus.session", "janus.handle") and d.get("session_id") == sid:
        c[f'{ev["type"]}:{e["name"]}:{ev.get("room_id", "-")}'] += 1
    elif ev["type"] == "janus.plugin" and d.get("session_id") == sid:
        c[f'janus.plugin:{e["plugin"]}:{ev.get("room_id", "-")}'] += 1
    elif ev["type"] == "janus.external":
        c[f'janus.external:{e["schema"]}:{e["data"]["run"]}:{e["data"]["n"]}'] += 1
    elif ev["type"] == "janus.core":
        c[f'janus.core:{e["status"]}'] += 1
print(" ".join(f"{k}={v}" for k, v in sorted(c.items())))
PY
}
# History as the listener's JSON lines, for summary().
history_lines() { curl -s -H "Authorization: Bearer $TOKEN" "$URL/v1/events?limit=10000" |
  python3 -c 'import json,sys; [print(json.dumps(e)) for e in json.load(sys.stdin)["events"]]'; }

# Compares the janus events of emitter $1 (all emitters when "*") in
# $WORK/history.out with the webhook deliveries in $WORK/hook.out. Prints
# "missing N" (history ids not delivered yet) for "missing", else the lines
#   history <ids in history order>
#   webhook <ids in delivery order>
#   duplicates <ids delivered more than once>
#   bad <deliveries not verified/204, or with another webhook-id>
hook_check() { # emitter [missing]
  python3 - "$1" "${2:-}" "$EP" "$WORK/history.out" "$WORK/hook.out" <<'PY'
import json, sys, collections
emitter, mode, ep, hpath, wpath = sys.argv[1:6]
def mine(ev):
    return isinstance(ev, dict) and str(ev.get("type", "")).startswith("janus.") and \
        (emitter == "*" or (ev.get("data") or {}).get("emitter") == emitter)
hist = [str(e["id"]) for e in map(json.loads, open(hpath)) if mine(e)]
got, bad = [], []
for line in open(wpath):
    d = json.loads(line)
    if not mine(d.get("body")):
        continue
    i = str(d["body"]["id"])
    got.append(i)
    if d.get("verified") is not True or d.get("status") != 204 or d.get("webhook_id") != f"msg_{i}_{ep}":
        bad.append(f'{i}:{d.get("verified")}:{d.get("status")}:{d.get("webhook_id")}')
if mode == "missing":
    print("missing", len(set(hist) - set(got)))
    sys.exit()
print("history", *hist)
print("webhook", *got)
print("duplicates", *sorted(k for k, v in collections.Counter(got).items() if v > 1))
print("bad", *bad)
PY
}
hook_has_all() { [ "$(hook_check "$1" missing)" = "missing 0" ]; }
# Waits for the webhook to have every event of emitter $1 in history,
# then checks what it got.
check_webhook() { # emitter label
  local r
  history_lines > "$WORK/history.out"
  eventually hook_has_all "$1"
  r=$(hook_check "$1")
  local hist=$(echo "$r" | sed -n 's/^history//p') hook=$(echo "$r" | sed -n 's/^webhook//p')
  [ -n "$hist" ] || fail "$2: no janus events in history"
  expect_eq "$2: the webhook got the same janus event ids as history ($(echo $hist | wc -w))" \
    "$(echo $hist | tr ' ' '\n' | sort -n | tr '\n' ' ')" "$(echo $hook | tr ' ' '\n' | sort -n -u | tr '\n' ' ')"
  expect_eq "$2: none of them twice" "duplicates" "$(echo "$r" | grep '^duplicates')"
  expect_eq "$2: each verified, answered 204, webhook-id msg_<event id>_$EP" "bad" "$(echo "$r" | grep '^bad')"
  expect_eq "$2: in history's order" "$hist" "$hook"
}

run() { # name "handler options" [handler]
  janus_start "$1" "$2" "${3:-}" || return
  janus_cycle "$1"
  if wait_for "$WORK/listen.out" "\"emitter\":\"$1\".*\"name\":\"destroyed\""; then
    ok "$1: the session's destroyed event arrives"
  else
    fail "$1: events missing: $(grep -c "\"emitter\":\"$1\"" "$WORK/listen.out") arrived; $(tail -5 "$WORK/janus-$1/janus.log")"
  fi
  janus_stop
  local want="janus.core:started=1 janus.external:herald.test:$1:9007199254740993=1 janus.handle:attached:room-$1=1 janus.handle:detached:room-$1=1 janus.plugin:janus.plugin.echotest:room-$1=1 janus.session:created:-=1 janus.session:destroyed:-=1"
  want=$(echo "$want" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')
  got=$(summary "$WORK/listen.out" "$1" "$SID" | tr ' ' '\n' | grep -v '^janus.core:shutdown' | sort | tr '\n' ' ' | sed 's/ $//')
  expect_eq "$1: the listener got each event once, mapped" "$want" "$got"
  history_lines > "$WORK/history.out"
  got=$(summary "$WORK/history.out" "$1" "$SID" | tr ' ' '\n' | grep -v '^janus.core:shutdown' | sort | tr '\n' ' ' | sed 's/ $//')
  expect_eq "$1: the history holds each event once" "$want" "$got"
  check_webhook "$1" "$1"
}

run janus-grouped "grouping = true json = \"indented\" backend = \"http://evuser:$TOKEN@127.0.0.1:$PORT/janus/events\""
run janus-single-gzip "grouping = false json = \"compact\" compress = true backend = \"$URL/janus/events\" backend_user = \"evuser\" backend_pwd = \"$TOKEN\""
# Janus's WebSockets event handler, on /janus/ws with the token in the URL.
run janus-ws "grouping = true json = \"plain\" backend = \"ws://127.0.0.1:$PORT/janus/ws?token=$TOKEN\"" wsevh
grep -q '"type":"janus.transport"' "$WORK/listen.out" && ok "transport events are taken too" || fail "no janus.transport"

before=$(metric herald_janus_auth_failures_total)
janus_start janus-wrong "backend = \"$URL/janus/events\" backend_user = \"evuser\" backend_pwd = \"wrong\"" && {
  jpost "$JURL" '{"janus":"create","transaction":"t1"}' >/dev/null
  refused() { [ "$(metric herald_janus_auth_failures_total)" -gt "$before" ]; }
  eventually refused
  janus_stop
}
after=$(metric herald_janus_auth_failures_total)
[ "$after" -gt "$before" ] && ok "a wrong Basic password is refused and counted ($((after - before)))" || fail "no refusal counted"
wait_for "$LOG" 'janus: POST /janus/events refused: wrong credentials' && ok "the refusal is logged" || fail "not logged"
expect_eq "nothing from the wrong password is stored" 0 "$(history_lines | grep -c '"emitter": "janus-wrong"')"
expect_eq "nor delivered to the webhook" 0 "$(grep -c '"emitter":"janus-wrong"' "$WORK/hook.out")"
# All runs together: every janus event in history reached the webhook once,
# in order, and nothing came twice later (a late resend, a retry).
check_webhook '*' "all runs"
# webhook-listen prints a request before it answers: wait for herald to
# have recorded the last answer
settled() { [ "$("$CLI" --server "$URL" webhooks get "$EP" | jq -r .pending)" == 0 ]; }
eventually settled
expect_eq "the webhook's deliveries are recorded as delivered" "0 delivered" \
  "$("$CLI" --server "$URL" webhooks get "$EP" | jq -r .pending) $("$CLI" --server "$URL" webhooks deliveries "$EP" --limit 1 | jq -r .state)"
kill -TERM "$LISTEN_PID" "$HOOK_PID"
wait "$HOOK_PID"
expect_eq "webhook-listen exits 0 on SIGTERM" 0 "$?"
wait "$LISTEN_PID" 2>/dev/null
grep -qE "AddressSanitizer|runtime error:|LeakSanitizer" "$WORK/hook.err" "$WORK/listen.err" &&
  { fail "sanitizer report from herald-cli"; head -40 "$WORK/hook.err" "$WORK/listen.err"; }
herald_stop
expect_eq "herald stops cleanly" 0 "$?"
finish
