# test_janus_real.sh — a real Janus (Debian's janus package, see
# scripts/deps.sh) on loopback, its HTTP sample event handler pointed at
# herald, driven through its REST and Admin APIs (create a session, attach
# janus.plugin.echotest, a message, a keepalive, an Admin custom_event,
# detach, destroy). The janus.* events must reach a server notifier
# listener (herald-cli listen) and the history once each. Four Janus
# runs: grouped indented JSON with the credentials in the backend URL;
# grouping=false, compact and gzip with backend_user/backend_pwd; the
# WebSockets event handler (wsevh) on /janus/ws; and a wrong password,
# which herald refuses (401), logs and counts.
# Janus runs on free ports picked now and is stopped by its PID.
. "$(dirname "$0")/lib.sh"
JANUS=${JANUS:-$(command -v janus)}
[ -x "$JANUS" ] || { echo "not ok - janus is not installed (scripts/deps.sh installs it)"; exit 1; }
MODS=$(dirname "$(ls /usr/lib/*/janus/plugins/libjanus_echotest.so | head -1)")/..
herald_start

wait_for() { # file regex
  for _ in $(seq 1 200); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
metric() { curl -s "$URL/metrics" | sed -n "s/^$1 //p"; }

"$CLI" --server "$URL" listen > "$WORK/listen.out" 2> "$WORK/listen.err" &
PIDS+=($!)
wait_for "$WORK/listen.err" 'listening' || fail "listen did not start: $(cat "$WORK/listen.err")"

# janus_start NAME "handler options" [HANDLER]: a Janus named NAME with one
# plugin, one transport and one event handler (sampleevh unless HANDLER is
# given, e.g. wsevh); sets $JURL, $AURL, $JANUS_PID.
janus_start() {
  local dir=$WORK/janus-$1 hp ap evh=${3:-sampleevh}
  mkdir -p "$dir"/{conf,plugins,transports,events,loggers}
  ln -s "$MODS/plugins/libjanus_echotest.so" "$dir/plugins/"
  ln -s "$MODS/transports/libjanus_http.so" "$dir/transports/"
  ln -s "$MODS/events/libjanus_$evh.so" "$dir/events/"
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
  if [ "$evh" = sampleevh ]; then
    echo "general: { enabled = true events = \"all\" max_retransmissions = 5 retransmissions_backoff = 100 $2 }"
  else
    echo "general: { enabled = true events = \"all\" $2 }"
  fi > "$dir/conf/janus.eventhandler.$evh.jcfg"
  echo 'general: { events = true }' > "$dir/conf/janus.plugin.echotest.jcfg"
  "$JANUS" -F "$dir/conf" -C "$dir/conf/janus.jcfg" -o > "$dir/janus.log" 2>&1 &
  JANUS_PID=$!
  PIDS+=("$JANUS_PID")
  JURL=http://127.0.0.1:$hp/janus
  AURL=http://127.0.0.1:$ap/admin
  for _ in $(seq 1 100); do curl -s -m 1 "$JURL/info" | grep -q server_info && return 0; sleep 0.05; done
  fail "janus $1 did not start: $(tail -20 "$dir/janus.log")"
  return 1
}

janus_stop() { kill -INT "$JANUS_PID" 2>/dev/null; wait "$JANUS_PID" 2>/dev/null; }

jpost() { curl -s -m 5 -H 'Content-Type: application/json' -d "$2" "$1"; }
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
}

run janus-grouped "grouping = true json = \"indented\" backend = \"http://evuser:$TOKEN@127.0.0.1:$PORT/janus/events\""
run janus-single-gzip "grouping = false json = \"compact\" compress = true backend = \"$URL/janus/events\" backend_user = \"evuser\" backend_pwd = \"$TOKEN\""
# Janus's WebSockets event handler, on /janus/ws with the token in the URL.
run janus-ws "grouping = true json = \"plain\" backend = \"ws://127.0.0.1:$PORT/janus/ws?token=$TOKEN\"" wsevh
grep -q '"type":"janus.transport"' "$WORK/listen.out" && ok "transport events are taken too" || fail "no janus.transport"

before=$(metric herald_janus_auth_failures_total)
janus_start janus-wrong "backend = \"$URL/janus/events\" backend_user = \"evuser\" backend_pwd = \"wrong\"" && {
  jpost "$JURL" '{"janus":"create","transaction":"t1"}' >/dev/null
  for _ in $(seq 1 100); do [ "$(metric herald_janus_auth_failures_total)" -gt "$before" ] && break; sleep 0.05; done
  janus_stop
}
after=$(metric herald_janus_auth_failures_total)
[ "$after" -gt "$before" ] && ok "a wrong Basic password is refused and counted ($((after - before)))" || fail "no refusal counted"
grep -q 'janus: POST /janus/events refused: wrong credentials' "$LOG" && ok "the refusal is logged" || fail "not logged"
expect_eq "nothing from the wrong password is stored" 0 "$(history_lines | grep -c '"emitter": "janus-wrong"')"
herald_stop
expect_eq "herald stops cleanly" 0 "$?"
finish
