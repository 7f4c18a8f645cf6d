/* SPDX-License-Identifier: MIT */
/* redis_lua.c — the Lua scripts of the Redis engine (redis_internal.h).
 *
 * Every change the engine makes runs as one script, and Redis runs a
 * script alone: no other client sees half of it. Redis does not roll a
 * script back when a command inside fails, so each writing script checks
 * everything that could fail (arguments, key types) before its first
 * write; the writes after that cannot fail short of Redis running out of
 * memory (it refuses a script's first write when over maxmemory).
 *
 * ARGV[1] is always the key prefix P (keys are listed in redis_internal.h).
 * Optional texts arrive as "" (NULL) or "=" followed by the text. Numbers
 * are Lua doubles, exact up to 2^53: ids, times and counters stay far
 * below. Why herald ids come from a counter (P meta last_id) and not from
 * Redis's own stream ids ("<ms>-<seq>"): herald ids are one 64-bit number
 * that clients keep and resume from (`since`), strictly increasing by one
 * commit after another across every node of the deployment, and equal to
 * the ids the SQLite engine gives; the stream entry id is "<herald id>-0",
 * so XRANGE by herald id is direct.
 */
#include "store/redis_internal.h"

/* Helpers every script starts with. */
#define PRELUDE                                                                              \
    "local P = ARGV[1]\n"                                                                    \
    "local function n2s(x) return string.format('%.0f', x) end\n"                           \
    "local function opt(s) if s == '' then return nil end return string.sub(s, 2) end\n"   \
    "local function eid(e) return tonumber(string.match(e[1], '^(%d+)')) end\n"             \
    "local function ems(e) local f = e[2] for i = 1, #f, 2 do if f[i] == 'ms' then "        \
    "return tonumber(f[i + 1]) end end return 0 end\n"                                      \
    "local function now_ms() local t = redis.call('TIME') "                                  \
    "return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end\n"                 \
    "local function meta(f) return tonumber(redis.call('HGET', P .. 'meta', f) or '0') or 0 end\n" \
    "local function is(k, t) local x = redis.call('TYPE', k).ok return x == 'none' or x == t end\n" \
    "local function pad(id) return string.format('%020.0f', id) end\n"                      \
    "local function owe(ev, d)\n"                                                            \
    "  local n = redis.call('HINCRBY', P .. 'ob:owedn', ev, d)\n"                            \
    "  if n <= 0 then redis.call('HDEL', P .. 'ob:owedn', ev) redis.call('ZREM', P .. 'ob:owed', ev)\n" \
    "  else redis.call('ZADD', P .. 'ob:owed', ev, ev) end\n"                                \
    "end\n"                                                                                  \
    "local function pending(id, ep, ev, on)\n"                                               \
    "  if on then redis.call('ZADD', P .. 'ob:pending', id, id) "                            \
    "redis.call('ZADD', P .. 'ob:pending:' .. ep, id, id) owe(ev, 1)\n"                      \
    "  else redis.call('ZREM', P .. 'ob:pending', id) "                                      \
    "redis.call('ZREM', P .. 'ob:pending:' .. ep, id) owe(ev, -1) end\n"                     \
    "end\n"                                                                                  \
    "local Q = P .. 'ob:q'\n"                                                                \
    "local function group() redis.pcall('XGROUP', 'CREATE', Q, 'webhooks', '0', 'MKSTREAM') end\n" \
    "local function queue(id) local e = redis.call('XADD', Q, '*', 'r', id)\n"             \
    "  redis.call('HSET', P .. 'ob:' .. id, 'q', e) end\n"                                   \
    "local function own(node) return P .. 'ob:own:' .. node end\n"                            \
    "local function claim_new(node)\n"                                                        \
    "  local r = redis.call('XREADGROUP', 'GROUP', 'webhooks', node, 'STREAMS', Q, '>')\n"    \
    "  for _, e in ipairs(r and r[1] and r[1][2] or {}) do local id = e[2][2]\n"              \
    "    redis.call('ZADD', own(node), id, id) end\n"                                         \
    "end\n"                                                                                   \
    "local function owner(e) local p = redis.call('XPENDING', Q, 'webhooks', e, e, 1)\n"    \
    "  if p[1] then return p[1][2] end return nil end\n"                                     \
    "local function release(id, e, who) if e then redis.call('XACK', Q, 'webhooks', e) "      \
    "redis.call('XDEL', Q, e) redis.call('HDEL', P .. 'ob:' .. id, 'q') end\n"                \
    "  if who then redis.call('ZREM', own(who), id) end end\n"                                \
    "local function new_row(ep, ev, at, c)\n"                                                \
    "  local id = redis.call('HINCRBY', P .. 'meta', 'outbox_seq', 1)\n"                     \
    "  redis.call('HSET', P .. 'ob:' .. id, 'ep', ep, 'ev', ev, 'st', 0, 'n', 0, 'at', at, 'c', c)\n" \
    "  redis.call('ZADD', P .. 'ob:all', id, id)\n"                                          \
    "  pending(id, ep, ev, true)\n"                                                          \
    "  queue(id)\n"                                                                          \
    "  return id\n"                                                                          \
    "end\n"

/* The COMMIT script's part for state shared by several nodes (store/
 * shared.h, redis_shared.c). After the node name: the number of shared
 * namespaces and their names, then the number of presence conditions and
 * per condition its kind (c connect, l leave, n leave node, d drop), peer,
 * value (session, or node for n) and event index ("" for none).
 * SHARED_CHECK reads them and checks the types of the keys this commit
 * will write (before any write: a commit with nothing shared checks none);
 * SHARED_DECIDE applies the conditions in order, ending or moving sessions
 * (P kv:presence, P presence:<node>) and marking the events whose
 * condition failed (keep[i] = false); SHARED_FEED appends the commit's
 * shared changes, then the sessions it changed, to the feed P kvlog, each
 * with the node and the log's last id (lid) after the commit. */
#define SHARED_CHECK                                                                         \
    "local t = r0 + 3 * nrows + 1\n"                                                          \
    "local shared, nsh = {}, tonumber(ARGV[t]) or 0\n"                                       \
    "for i = 1, nsh do shared[ARGV[t + i]] = true end\n"                                     \
    "local npres, p0 = tonumber(ARGV[t + nsh + 1]) or 0, t + nsh + 2\n"                      \
    "local SS, KL = P .. 'kv:presence', P .. 'kvlog'\n"                                       \
    "local function nodeof(v) return string.match(v, '^(.*)/[^/]*$') or v end\n"            \
    "local feeds = npres > 0\n"                                                               \
    "for i = 0, nkv - 1 do feeds = feeds or shared[ARGV[k0 + 3 * i]] end\n"                  \
    "if feeds then ok = ok and is(KL, 'stream') end\n"                                        \
    "if npres > 0 then ok = ok and is(SS, 'hash') and is(P .. 'kvo:presence', 'zset') end\n" \
    "for i = 0, npres - 1 do\n"                                                               \
    "  local k, peer, v, idx = ARGV[p0 + 4 * i], ARGV[p0 + 4 * i + 1], ARGV[p0 + 4 * i + 2], ARGV[p0 + 4 * i + 3]\n" \
    "  if not (k == 'c' or k == 'l' or k == 'n' or k == 'd') or not peer or peer == '' or\n" \
    "     (k ~= 'd' and (not v or v == '')) or (idx ~= '' and not (tonumber(idx) and tonumber(idx) >= 0 and tonumber(idx) < n)) then\n" \
    "    return redis.error_reply('bad presence condition') end\n"                            \
    "  local cur = redis.call('HGET', SS, peer)\n"                                            \
    "  if cur then ok = ok and is(P .. 'presence:' .. nodeof(cur), 'set') end\n"               \
    "  if v ~= '' then ok = ok and is(P .. 'presence:' .. nodeof(v), 'set') end\n"             \
    "end\n"

#define SHARED_DECIDE                                                                        \
    "local keep, moved = {}, {}\n"                                                            \
    "local function session(peer, v)\n"                                                       \
    "  local old = redis.call('HGET', SS, peer)\n"                                            \
    "  if old then redis.call('SREM', P .. 'presence:' .. nodeof(old), peer) end\n"           \
    "  if v then redis.call('HSET', SS, peer, v) redis.call('SADD', P .. 'presence:' .. nodeof(v), peer)\n" \
    "    if not old then redis.call('ZADD', P .. 'kvo:presence', redis.call('HINCRBY', P .. 'meta', 'kv_seq', 1), peer) end\n" \
    "  else redis.call('HDEL', SS, peer) redis.call('ZREM', P .. 'kvo:presence', peer) end\n" \
    "  moved[#moved + 1] = {peer, v}\n"                                                       \
    "end\n"                                                                                   \
    "for i = 0, npres - 1 do\n"                                                               \
    "  local k, peer, v, idx = ARGV[p0 + 4 * i], ARGV[p0 + 4 * i + 1], ARGV[p0 + 4 * i + 2], tonumber(ARGV[p0 + 4 * i + 3])\n" \
    "  local cur, held = redis.call('HGET', SS, peer), false\n"                               \
    "  if k == 'c' then held = not cur if cur ~= v then session(peer, v) end\n"               \
    "  elseif k == 'l' then held = cur == v\n"                                                \
    "  elseif k == 'n' then held = cur and nodeof(cur) == v\n"                                \
    "  else held = cur and true or false end\n"                                               \
    "  if k ~= 'c' and held then session(peer, false) end\n"                                  \
    "  if idx then keep[idx] = keep[idx] ~= false and held end\n"                              \
    "end\n"

#define SHARED_FEED                                                                          \
    "local function feed(ns, key, v)\n"                                                       \
    "  local seq = redis.call('HINCRBY', P .. 'meta', 'kvlog_seq', 1)\n"                      \
    "  local a = {'XADD', KL, 'MAXLEN', '~', '10000', n2s(seq) .. '-0', 'ns', ns, 'k', key, 'n', node, 'e', n2s(lid)}\n" \
    "  if v then a[#a + 1] = 'v' a[#a + 1] = v end\n"                                         \
    "  redis.call(unpack(a))\n"                                                               \
    "end\n"                                                                                   \
    "for i = 0, nkv - 1 do local ns = ARGV[k0 + 3 * i]\n"                                     \
    "  if shared[ns] then feed(ns, ARGV[k0 + 3 * i + 1], opt(ARGV[k0 + 3 * i + 2])) end end\n" \
    "for _, m in ipairs(moved) do feed('presence', m[1], m[2]) end\n"                         \
    "out[#out + 1] = table.concat(mask)\n"

/* The COMMIT script's part for idempotency keys (store/idem.h; issue 18
 * item 1). After the presence conditions: the number of keys, then per
 * key its name, hash, first event index, event count and time to live
 * (ms). A key P idem:<key> ("<hash> <id>,<id>...", expiring after the
 * window) already there means another node published under it first
 * (this node looked it up before the commit): the key's events are not
 * stored (keep false) and its letter in the returned key mask is "0";
 * otherwise the key is recorded with the ids its events got ("1"). The
 * script runs alone, so of two nodes committing one key at the same
 * instant exactly one stores its events. */
#define IDEM_CHECK                                                                           \
    "local i0 = p0 + 4 * npres\n"                                                             \
    "local nidem = tonumber(ARGV[i0]) or 0\n"                                                \
    "for j = 0, nidem - 1 do local b = i0 + 1 + 5 * j\n"                                     \
    "  local f, c, ttl = tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])\n" \
    "  if not ARGV[b] or ARGV[b] == '' or not f or not c or not ttl or f < 0 or c < 1 or f + c > n or ttl < 1 then\n" \
    "    return redis.error_reply('bad idempotency key') end\n"                                \
    "  ok = ok and is(P .. 'idem:' .. ARGV[b], 'string') end\n"

#define IDEM_DECIDE                                                                          \
    "local lost, imask = {}, {}\n"                                                           \
    "for j = 0, nidem - 1 do local b = i0 + 1 + 5 * j\n"                                     \
    "  if redis.call('EXISTS', P .. 'idem:' .. ARGV[b]) == 1 then lost[j] = true\n"          \
    "    local f = tonumber(ARGV[b + 2])\n"                                                   \
    "    for e = f, f + tonumber(ARGV[b + 3]) - 1 do keep[e] = false end end end\n"

#define IDEM_RECORD                                                                          \
    "for j = 0, nidem - 1 do local b = i0 + 1 + 5 * j\n"                                     \
    "  if lost[j] then imask[j + 1] = '0' else imask[j + 1] = '1'\n"                         \
    "    local t, f = {}, tonumber(ARGV[b + 2])\n"                                            \
    "    for e = f, f + tonumber(ARGV[b + 3]) - 1 do t[#t + 1] = n2s(ids[e] or 0) end\n"      \
    "    redis.call('SET', P .. 'idem:' .. ARGV[b], ARGV[b + 1] .. ' ' .. table.concat(t, ','), 'PX', ARGV[b + 4]) end end\n"

/* COMMIT: ARGV 2..4 = n events, n kv changes, n outbox rows; then per
 * event type, room, user, data, created key ("" or "=" and the key: the
 * event joins P acc:<user>); per change ns, key, value; per row
 * endpoint, event index (0-based), next_at; then this node's name, then
 * the shared part (SHARED_CHECK above), then the keys (IDEM_CHECK).
 * Returns {base id, time, row ids…, kept mask, key mask}: the events kept get ids base + 1, base + 2, ... in order,
 * a dropped event's rows get id 0, the mask has "1" or "0" per event. The new rows are queued on P ob:q and read
 * at once through the consumer group `webhooks` by this node, which thus
 * owns them (its pending entries) until they are delivered or failed. */
static const char commit_lua[] = PRELUDE
    "local n, nkv, nrows = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local e0, k0, r0 = 5, 5 + 5 * n, 5 + 5 * n + 3 * nkv\n"
    "local ok = is(P .. 'log', 'stream') and is(P .. 'meta', 'hash')\n"
    "for i = 0, n - 1 do local u = opt(ARGV[e0 + 5 * i + 2])\n"
    "  if u and ARGV[e0 + 5 * i + 4] ~= '' then ok = ok and is(P .. 'acc:' .. u, 'zset') end end\n"
    "if nrows > 0 then ok = ok and is(P .. 'ob:pending', 'zset') and is(P .. 'ob:all', 'zset')\n"
    "  and is(P .. 'ob:owed', 'zset') and is(P .. 'ob:owedn', 'hash') and is(Q, 'stream') end\n"
    "for i = 0, nkv - 1 do local ns = ARGV[k0 + 3 * i]\n"
    "  ok = ok and is(P .. 'kv:' .. ns, 'hash') and is(P .. 'kvo:' .. ns, 'zset') end\n"
    "for i = 0, nrows - 1 do local ep, idx = ARGV[r0 + 3 * i], tonumber(ARGV[r0 + 3 * i + 1])\n"
    "  if ep == '' or idx == nil or idx < 0 or idx >= n then return redis.error_reply('bad outbox row') end\n"
    "  ok = ok and is(P .. 'ob:pending:' .. ep, 'zset') end\n"
    "local node = ARGV[r0 + 3 * nrows]\n"
    "if not node or node == '' then return redis.error_reply('commit without a node name') end\n"
    "if nrows > 0 then ok = ok and is(own(node), 'zset') end\n"
    SHARED_CHECK
    IDEM_CHECK
    "if not ok then return redis.error_reply('WRONGTYPE a herald key holds another type') end\n"
    "if nrows > 0 then group() end\n"
    "local now, base = now_ms(), meta('last_id')\n"
    "local last_t = meta('last_time_ms')\n"
    "if now < last_t then now = last_t end\n"
    SHARED_DECIDE
    IDEM_DECIDE
    "for i = 0, nkv - 1 do\n"
    "  local ns, key, v = ARGV[k0 + 3 * i], ARGV[k0 + 3 * i + 1], opt(ARGV[k0 + 3 * i + 2])\n"
    "  if v then redis.call('HSET', P .. 'kv:' .. ns, key, v)\n"
    "    if not redis.call('ZSCORE', P .. 'kvo:' .. ns, key) then\n"
    "      redis.call('ZADD', P .. 'kvo:' .. ns, redis.call('HINCRBY', P .. 'meta', 'kv_seq', 1), key) end\n"
    "  else redis.call('HDEL', P .. 'kv:' .. ns, key) redis.call('ZREM', P .. 'kvo:' .. ns, key) end\n"
    "end\n"
    "local lid, ids, mask = base, {}, {}\n"
    "for i = 0, n - 1 do mask[i + 1] = keep[i] == false and '0' or '1' end\n"
    "for i = 0, n - 1 do if keep[i] ~= false then lid = lid + 1 ids[i] = lid\n"
    "  local a = {'XADD', P .. 'log', n2s(lid) .. '-0', 't', ARGV[e0 + 5 * i], 'ms', n2s(now),\n"
    "             'd', ARGV[e0 + 5 * i + 3]}\n"
    "  local room, user, ck = opt(ARGV[e0 + 5 * i + 1]), opt(ARGV[e0 + 5 * i + 2]), opt(ARGV[e0 + 5 * i + 4])\n"
    "  if room then a[#a + 1] = 'r' a[#a + 1] = room end\n"
    "  if user then a[#a + 1] = 'u' a[#a + 1] = user end\n"
    "  if user and ck then a[#a + 1] = 'c' a[#a + 1] = ck\n"
    "    redis.call('ZADD', P .. 'acc:' .. user, ck, pad(lid)) end\n"
    "  redis.call(unpack(a))\n"
    "end end\n"
    IDEM_RECORD
    "redis.call('HSET', P .. 'meta', 'last_id', n2s(lid), 'last_time_ms', n2s(now))\n"
    "local out = {base, now}\n"
    "for i = 0, nrows - 1 do\n"
    "  local ev = ids[tonumber(ARGV[r0 + 3 * i + 1])]\n"
    "  out[#out + 1] = ev and new_row(ARGV[r0 + 3 * i], ev, ARGV[r0 + 3 * i + 2], now) or 0\n"
    "end\n"
    "if nrows > 0 then claim_new(node) end\n"
    SHARED_FEED
    "out[#out + 1] = table.concat(imask)\n"
    "return out\n";

/* PRUNE: ARGV 2..5 = keep_events (0: no count limit), max_age_ms (0: no
 * age limit), the most entries one call may look at, the time age is
 * judged at (0: Redis's clock; tests give one). It runs about once a
 * second and blocks Redis while it runs, so its cost must not grow with
 * the log: the count limit reads XLEN and only the excess entries, the age
 * limit reads from the oldest in pages that start small (the oldest entry
 * is usually young enough, and one entry tells). Deletes the events
 * up to the newest candidate (count first, then age; both select a prefix
 * of the log since times never decrease) except those a pending outbox
 * row needs; with an age limit, also finished outbox rows created before
 * the cutoff and attempts made before it (not those of pending rows),
 * scanning from the oldest to the first young one and never the newest
 * (like the SQLite engine). Returns {deleted, horizon, first id}. */
static const char prune_lua[] = PRELUDE
    "local keep, age, cap, at = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])\n"
    "local log = P .. 'log'\n"
    "local b = 0\n"
    "if keep > 0 then local len = redis.call('XLEN', log)\n"
    "  if len > keep then local r = redis.call('XRANGE', log, '-', '+', 'COUNT', math.min(len - keep, cap))\n"
    "    if #r > 0 then b = eid(r[#r]) end end end\n"
    "local cutoff = 0\n"
    "if age > 0 then cutoff = (at > 0 and at or now_ms()) - age\n"
    "  local start, seen, page = '-', 0, 16\n"
    "  while seen < cap do local want = math.min(page, cap - seen)\n"
    "    local r = redis.call('XRANGE', log, start, '+', 'COUNT', want)\n"
    "    local stop = #r < want\n"
    "    for _, e in ipairs(r) do if ems(e) < cutoff then if eid(e) > b then b = eid(e) end\n"
    "      else stop = true break end end\n"
    "    seen = seen + #r\n"
    "    if stop then break end\n"
    "    start = '(' .. r[#r][1]\n"
    "    if page < 1000 then page = page * 4 end end\n"
    "end\n"
    "local deleted, maxdel = 0, 0\n"
    "local function access_of(e) local f, u, c = e[2]\n"
    "  for i = 1, #f, 2 do if f[i] == 'u' then u = f[i + 1] elseif f[i] == 'c' then c = true end end\n"
    "  if u and c then return P .. 'acc:' .. u end end\n"
    "local function unindex(entries) local drop = {}\n"
    "  for _, e in ipairs(entries) do local k = access_of(e)\n"
    "    if k then if not is(k, 'zset') then return false end drop[#drop + 1] = {k, pad(eid(e))} end end\n"
    "  for _, d in ipairs(drop) do redis.call('ZREM', d[1], d[2]) end\n"
    "  return true end\n"
    "if b > 0 then\n"
    "  local owed = redis.call('ZRANGEBYSCORE', P .. 'ob:owed', '-inf', b, 'LIMIT', 0, 1)\n"
    "  local o1 = owed[1] and tonumber(owed[1]) or (b + 1)\n"
    "  local start = '-'\n"
    "  while true do local r = redis.call('XRANGE', log, start, '(' .. n2s(o1) .. '-0', 'COUNT', 1000)\n"
    "    if not unindex(r) then return redis.error_reply('WRONGTYPE a herald key holds another type') end\n"
    "    if #r < 1000 then break end\n"
    "    start = '(' .. r[#r][1] end\n"
    "  local below = redis.call('XREVRANGE', log, '(' .. n2s(o1) .. '-0', '-', 'COUNT', 1)\n"
    "  if #below > 0 then maxdel = eid(below[1])\n"
    "    deleted = redis.call('XTRIM', log, 'MINID', n2s(o1) .. '-0') end\n"
    "  if owed[1] then\n"
    "    local start, seen = n2s(o1) .. '-0', 0\n"
    "    while seen < cap do local r = redis.call('XRANGE', log, start, n2s(b) .. '-0', 'COUNT', 1000)\n"
    "      for _, e in ipairs(r) do local id = eid(e)\n"
    "        if not redis.call('ZSCORE', P .. 'ob:owed', id) and unindex({e}) then\n"
    "          deleted = deleted + redis.call('XDEL', log, e[1]) if id > maxdel then maxdel = id end end end\n"
    "      seen = seen + #r\n"
    "      if #r < 1000 then break end\n"
    "      start = '(' .. r[#r][1] end\n"
    "  end\n"
    "end\n"
    "local horizon = meta('horizon')\n"
    "if maxdel > 0 and maxdel >= horizon then horizon = maxdel + 1\n"
    "  redis.call('HSET', P .. 'meta', 'horizon', n2s(horizon)) end\n"
    "if age > 0 then\n"
    "  local all = P .. 'ob:all'\n"
    "  local newest = redis.call('ZRANGE', all, -1, -1)[1]\n"
    "  for _, id in ipairs(redis.call('ZRANGE', all, 0, 4999)) do\n"
    "    if id == newest then break end\n"
    "    local h = redis.call('HMGET', P .. 'ob:' .. id, 'st', 'c')\n"
    "    if not h[2] then redis.call('ZREM', all, id)\n"
    "    elseif tonumber(h[2]) >= cutoff then break\n"
    "    elseif h[1] ~= '0' then redis.call('DEL', P .. 'ob:' .. id) redis.call('ZREM', all, id) end\n"
    "  end\n"
    "  all = P .. 'at:all'\n"
    "  newest = redis.call('ZRANGE', all, -1, -1)[1]\n"
    "  for _, id in ipairs(redis.call('ZRANGE', all, 0, 4999)) do\n"
    "    if id == newest then break end\n"
    "    local h = redis.call('HMGET', P .. 'at:' .. id, 'ms', 'o', 'ep')\n"
    "    if not h[1] then redis.call('ZREM', all, id)\n"
    "    elseif tonumber(h[1]) >= cutoff then break\n"
    "    elseif redis.call('HGET', P .. 'ob:' .. h[2], 'st') ~= '0' then\n"
    "      redis.call('DEL', P .. 'at:' .. id) redis.call('ZREM', all, id)\n"
    "      redis.call('ZREM', P .. 'at:ep:' .. h[3], id) end\n"
    "  end\n"
    "end\n"
    "local first = redis.call('XRANGE', log, n2s(horizon) .. '-0', '+', 'COUNT', 1)\n"
    "return {deleted, horizon, first[1] and eid(first[1]) or 0}\n";

/* FIRST: the oldest event at or above the horizon (0: none), what a
 * node's first_id should be once it knows the log is not empty. */
static const char first_lua[] = PRELUDE
    "local first = redis.call('XRANGE', P .. 'log', n2s(meta('horizon')) .. '-0', '+', 'COUNT', 1)\n"
    "return first[1] and eid(first[1]) or 0\n";

/* LOAD_PENDING: ARGV 2..5 = after id, limit, node, endpoint ("" = all).
 * This node's pending rows (P ob:own:<node>, kept with its pending
 * entries in the group) with id > after, in id order: {id, endpoint,
 * event id, attempts, next_at, entry or nil}. Reads only this node's rows,
 * however many other nodes hold; an id whose row is gone or finished is
 * dropped from the set. With an endpoint, walks that endpoint's pending
 * rows (P ob:pending:<ep>) instead and skips the other nodes' rows. */
static const char load_pending_lua[] = PRELUDE
    "local after, limit, node, ep = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]\n"
    "local src = own(node)\n"
    "if ep and ep ~= '' then src = P .. 'ob:pending:' .. ep end\n"
    "if not is(own(node), 'zset') or not is(src, 'zset') then\n"
    "  return redis.error_reply('WRONGTYPE a herald key holds another type') end\n"
    "local out = {}\n"
    "while #out < limit do\n"
    "  local ids = redis.call('ZRANGEBYSCORE', src, '(' .. after, '+inf', 'LIMIT', 0, limit - #out)\n"
    "  for _, id in ipairs(ids) do\n"
    "    if src == own(node) or redis.call('ZSCORE', own(node), id) then\n"
    "      local h = redis.call('HMGET', P .. 'ob:' .. id, 'ep', 'ev', 'n', 'at', 'st')\n"
    "      if h[1] and h[5] == '0' then\n"
    "        local e = redis.call('XRANGE', P .. 'log', h[2] .. '-0', h[2] .. '-0')\n"
    "        out[#out + 1] = {tonumber(id), h[1], tonumber(h[2]), tonumber(h[3]), tonumber(h[4]), e[1] or false}\n"
    "      elseif src == own(node) then redis.call('ZREM', own(node), id) end\n"
    "    end\n"
    "    after = id\n"
    "  end\n"
    "  if #ids == 0 then break end\n"
    "end\n"
    "return out\n";

/* EVENTS: ARGV 2.. = event ids. Each one's log entry, or false when it is
 * not stored: read by id, so an event kept below the history horizon for
 * a pending row (P ob:owed) is found too. */
static const char events_lua[] = PRELUDE
    "local out = {}\n"
    "for i = 2, #ARGV do\n"
    "  local e = redis.call('XRANGE', P .. 'log', ARGV[i] .. '-0', ARGV[i] .. '-0')\n"
    "  out[#out + 1] = e[1] or false\n"
    "end\n"
    "return out\n";

/* RECORD: ARGV[2] = count, then per attempt: row id, endpoint, event id,
 * time, http status (0: none), latency, error, response, new state,
 * attempts, next_at; then the node's name. Stores each attempt and the
 * row's new state; a row that reached its end leaves the queue (XACK). An
 * attempt on a row this node no longer holds (another node took it over
 * while this one was thought dead, or a manual retry moved it) is not
 * stored. Returns the ids of those rows. */
static const char record_lua[] = PRELUDE
    "local n = tonumber(ARGV[2])\n"
    "local node = ARGV[3 + 11 * n]\n"
    "if not node or node == '' then return redis.error_reply('record without a node name') end\n"
    "for i = 0, n - 1 do local b = 3 + 11 * i\n"
    "  for j = 0, 10 do if j ~= 1 and j ~= 6 and j ~= 7 and not tonumber(ARGV[b + j]) then\n"
    "    return redis.error_reply('bad attempt') end end\n"
    "  if ARGV[b + 1] == '' then return redis.error_reply('attempt without endpoint') end\n"
    "end\n"
    "if not is(Q, 'stream') or not is(own(node), 'zset') then\n"
    "  return redis.error_reply('WRONGTYPE a herald key holds another type') end\n"
    "local lost = {}\n"
    "for i = 0, n - 1 do local b = 3 + 11 * i\n"
    "  local row, ep, ev = ARGV[b], ARGV[b + 1], ARGV[b + 2]\n"
    "  local h = redis.call('HMGET', P .. 'ob:' .. row, 'st', 'ep', 'ev', 'q')\n"
    "  local who = h[4] and owner(h[4])\n"
    "  if who and who ~= node then lost[#lost + 1] = tonumber(row) else\n"
    "  local id = redis.call('HINCRBY', P .. 'meta', 'attempt_seq', 1)\n"
    "  local a = {'HSET', P .. 'at:' .. id, 'o', row, 'ep', ep, 'ev', ev, 'ms', ARGV[b + 3],"
    " 'lat', ARGV[b + 5], 'st', ARGV[b + 8]}\n"
    "  if ARGV[b + 4] ~= '0' then a[#a + 1] = 'sc' a[#a + 1] = ARGV[b + 4] end\n"
    "  local err, resp = opt(ARGV[b + 6]), opt(ARGV[b + 7])\n"
    "  if err then a[#a + 1] = 'err' a[#a + 1] = err end\n"
    "  if resp then a[#a + 1] = 'resp' a[#a + 1] = resp end\n"
    "  redis.call(unpack(a))\n"
    "  redis.call('ZADD', P .. 'at:all', id, id)\n"
    "  redis.call('ZADD', P .. 'at:ep:' .. ep, id, id)\n"
    "  if h[1] then local was, now = h[1] == '0', ARGV[b + 8] == '0'\n"
    "    if was ~= now then pending(row, h[2], h[3], now) end\n"
    "    redis.call('HSET', P .. 'ob:' .. row, 'st', ARGV[b + 8], 'n', ARGV[b + 9], 'at', ARGV[b + 10])\n"
    "    if not now then release(row, h[4], who or node) end\n"
    "  end end\n"
    "end\n"
    "return lost\n";

/* RETRY: ARGV 2..5 = endpoint, row id, now, node. 1 if the row of that
 * endpoint exists (now pending, due now, and this node's), 0 if not. A row
 * still pending on another node is taken from it (XCLAIM): that node's
 * next attempt on it will not be recorded (RECORD) and it lets it go. */
static const char retry_lua[] = PRELUDE
    "local k, node = P .. 'ob:' .. ARGV[3], ARGV[5]\n"
    "if not is(Q, 'stream') or not is(own(node), 'zset') then\n"
    "  return redis.error_reply('WRONGTYPE a herald key holds another type') end\n"
    "local h = redis.call('HMGET', k, 'ep', 'st', 'ev', 'q')\n"
    "if h[1] ~= ARGV[2] then return 0 end\n"
    "group()\n"
    "if h[2] ~= '0' then pending(ARGV[3], h[1], h[3], true) end\n"
    "local who = h[4] and owner(h[4])\n"
    "if who then redis.call('XCLAIM', Q, 'webhooks', node, 0, h[4], 'JUSTID')\n"
    "  redis.call('ZREM', own(who), ARGV[3]) redis.call('ZADD', own(node), ARGV[3], ARGV[3])\n"
    "else queue(ARGV[3]) claim_new(node) end\n"
    "redis.call('HSET', k, 'st', 0, 'at', ARGV[4])\n"
    "return 1\n";

/* INSERT: ARGV 2..4 = endpoint, now, node; then event ids. A pending row
 * for each event still stored, this node's. Returns {rows, first row id}. */
static const char insert_lua[] = PRELUDE
    "if not is(Q, 'stream') or not is(own(ARGV[4]), 'zset') then\n"
    "  return redis.error_reply('WRONGTYPE a herald key holds another type') end\n"
    "group()\n"
    "local count, first = 0, 0\n"
    "for i = 5, #ARGV do\n"
    "  if #redis.call('XRANGE', P .. 'log', ARGV[i] .. '-0', ARGV[i] .. '-0') > 0 then\n"
    "    local id = new_row(ARGV[2], tonumber(ARGV[i]), ARGV[3], ARGV[3])\n"
    "    if count == 0 then first = id end\n"
    "    count = count + 1\n"
    "  end\n"
    "end\n"
    "if count > 0 then claim_new(ARGV[4]) end\n"
    "return {count, first}\n";

/* BEAT: ARGV 2..4 = node, timeout ms, now ms (0: Redis's clock; tests
 * give a time to play beats out without waiting). This node is alive now (P nodes,
 * score = last beat); every other node silent for longer than the timeout
 * is removed from P nodes (so exactly one beat, of one survivor, takes it
 * over) and its pending queue entries become this node's (XCLAIM), then
 * its consumer is deleted. Returns {{dead node, rows taken}…}. A node
 * stopping cleanly sets its score to 0 (LEAVE) to be taken over at once.
 * When no node at all beat for half the timeout (P meta beat_ms), Redis
 * itself was away (down, hung, restarting) or every node was: nobody
 * could beat, so silence says nothing about any one node. Every node
 * listed (but those that left) then gets a full timeout from now, and this
 * beat takes over only the nodes that left.
 * A node taken over is remembered in P reaped; one taken over more than a
 * timeout ago whose peers' sessions are still there (P presence:<node>:
 * the survivor died before ending them) is returned again as {node, -1}
 * by every beat until they are ended (ending a session is conditional,
 * so several survivors doing it end each once) or the node is back. */
static const char beat_lua[] = PRELUDE
    "local node, timeout, at = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "if not is(Q, 'stream') or not is(P .. 'nodes', 'zset') or not is(own(node), 'zset')\n"
    "   or not is(P .. 'reaped', 'zset') then\n"
    "  return redis.error_reply('WRONGTYPE a herald key holds another type') end\n"
    "local now = at > 0 and at or now_ms()\n"
    "local last = meta('beat_ms')\n"
    "redis.call('HSET', P .. 'meta', 'beat_ms', n2s(now))\n"
    "redis.call('ZADD', P .. 'nodes', now, node)\n"
    "if last > 0 and now - last > timeout / 2 then\n"
    "  for _, d in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', '(0', '(' .. n2s(now))) do\n"
    "    redis.call('ZADD', P .. 'nodes', now, d) end\n"
    "end\n"
    "local out = {}\n"
    "for _, d in ipairs(redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', '(' .. n2s(now - timeout))) do\n"
    "  redis.call('ZREM', P .. 'nodes', d)\n"
    "  local moved = 0\n"
    "  if redis.call('EXISTS', Q) == 1 then group()\n"
    "    while true do local p = redis.call('XPENDING', Q, 'webhooks', '-', '+', 1000, d)\n"
    "      if #p == 0 then break end\n"
    "      local a = {'XCLAIM', Q, 'webhooks', node, 0}\n"
    "      for _, x in ipairs(p) do a[#a + 1] = x[1] end\n"
    "      a[#a + 1] = 'JUSTID' redis.call(unpack(a)) moved = moved + #p end\n"
    "    redis.call('XGROUP', 'DELCONSUMER', Q, 'webhooks', d) end\n"
    "  if redis.call('EXISTS', own(d)) == 1 then\n"
    "    redis.call('ZUNIONSTORE', own(node), 2, own(node), own(d), 'AGGREGATE', 'MAX')\n"
    "    redis.call('DEL', own(d)) end\n"
    "  out[#out + 1] = {d, moved}\n"
    "  redis.call('ZADD', P .. 'reaped', now, d)\n"
    "end\n"
    "for _, m in ipairs(redis.call('ZRANGEBYSCORE', P .. 'reaped', '-inf', '(' .. n2s(now - timeout))) do\n"
    "  if redis.call('ZSCORE', P .. 'nodes', m) or redis.call('SCARD', P .. 'presence:' .. m) == 0 then\n"
    "    redis.call('ZREM', P .. 'reaped', m)\n"
    "  else out[#out + 1] = {m, -1} end\n"
    "end\n"
    "return out\n";

/* ATTEMPTS: ARGV 2..4 = endpoint, before id ("+inf" for the newest), limit.
 * Newest first: {id, row, event, time, status code or nil, latency, error
 * or nil, response or nil, state}. */
static const char attempts_lua[] = PRELUDE
    "local out = {}\n"
    "for _, id in ipairs(redis.call('ZREVRANGEBYSCORE', P .. 'at:ep:' .. ARGV[2], '(' .. ARGV[3],"
    " '-inf', 'LIMIT', 0, tonumber(ARGV[4]))) do\n"
    "  local h = redis.call('HMGET', P .. 'at:' .. id, 'o', 'ev', 'ms', 'sc', 'lat', 'err', 'resp', 'st')\n"
    "  if h[1] then out[#out + 1] = {id, h[1], h[2], h[3], h[4] or false, h[5], h[6] or false,"
    " h[7] or false, h[8]} end\n"
    "end\n"
    "return out\n";

/* LEASE: ARGV 2..4 = lease name, node, ttl ms. 1 when the node holds the
 * lease (free or its own: set for another ttl), 0 when another node does.
 * ttl 0: given up if the node holds it; returns 0. */
static const char lease_lua[] = PRELUDE
    "local k, node, ttl = P .. 'lease:' .. ARGV[2], ARGV[3], tonumber(ARGV[4])\n"
    "local cur = redis.call('GET', k)\n"
    "if ttl <= 0 then if cur == node then redis.call('DEL', k) end return 0 end\n"
    "if cur and cur ~= node then return 0 end\n"
    "redis.call('SET', k, node, 'PX', ARGV[4])\n"
    "return 1\n";

/* BY_CREATED: ARGV 2..7 = user, after key, after id ("" : only keys >
 * after key), first id, max id, limit. The seeds' replay page: the user's
 * events in P acc:<user> after the cursor (key, id), skipping ids outside
 * [first, max] (newer ones come live; older ones are not retained), as
 * {entry…}. Starts at the cursor's rank (ZRANK of its member, or ZCOUNT
 * when it is gone): O(log n) plus the page, whatever lies before it.
 * Read only. */
static const char by_created_lua[] = PRELUDE
    "local K = P .. 'acc:' .. ARGV[2]\n"
    "if not is(K, 'zset') then return redis.error_reply('WRONGTYPE a herald key holds another type') end\n"
    "local key, aid, first, max, limit = ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])\n"
    "local start\n"
    "if aid == '' then start = redis.call('ZCOUNT', K, '-inf', key)\n"
    "else local m = pad(tonumber(aid))\n"
    "  local sc = redis.call('ZSCORE', K, m)\n"
    "  if sc and tonumber(sc) == tonumber(key) then start = redis.call('ZRANK', K, m) + 1\n"
    "  else start = redis.call('ZCOUNT', K, '-inf', '(' .. key)\n"
    "    for _, t in ipairs(redis.call('ZRANGEBYSCORE', K, key, key)) do if t <= m then start = start + 1 end end end end\n"
    "local out = {}\n"
    "while #out < limit do\n"
    "  local ms = redis.call('ZRANGE', K, start, start + limit - 1)\n"
    "  for _, m in ipairs(ms) do local id = tonumber(m)\n"
    "    if id >= first and id <= max then\n"
    "      local e = redis.call('XRANGE', P .. 'log', n2s(id) .. '-0', n2s(id) .. '-0')[1]\n"
    "      if e then out[#out + 1] = e if #out == limit then break end end end end\n"
    "  if #ms < limit then break end\n"
    "  start = start + #ms end\n"
    "return out\n";

/* NODES: ARGV 2 = at most this many nodes, 3.. = lease names. Read only:
 * what Redis records about the nodes (GET /v1/nodes). {now (Redis's
 * clock), truncated (0/1), {{node, last beat (0: left; -1: none), taken
 * over at (0: not), sessions, webhook rows}…}, {holder or false, one per
 * lease}}. The nodes of P nodes first, newest beat first, then those of P
 * reaped (taken over) that are not in it; each zset read at most max deep
 * (P reaped is small: the nodes taken over within a timeout). */
static const char nodes_lua[] = PRELUDE
    "local max, now, out, cut = tonumber(ARGV[2]), now_ms(), {}, 0\n"
    "if not is(P .. 'nodes', 'zset') or not is(P .. 'reaped', 'zset') then\n"
    "  return redis.error_reply('WRONGTYPE a herald key holds another type') end\n"
    "local function add(d, beat, reaped)\n"
    "  out[#out + 1] = {d, beat, reaped, redis.call('SCARD', P .. 'presence:' .. d),"
    " redis.call('ZCARD', own(d))} end\n"
    "local b = redis.call('ZREVRANGE', P .. 'nodes', 0, max - 1, 'WITHSCORES')\n"
    "for i = 1, #b, 2 do add(b[i], tonumber(b[i + 1]), 0) end\n"
    "if redis.call('ZCARD', P .. 'nodes') > max then cut = 1 end\n"
    "if redis.call('ZCARD', P .. 'reaped') > max then cut = 1 end\n"
    "local r = redis.call('ZREVRANGE', P .. 'reaped', 0, max - 1, 'WITHSCORES')\n"
    "for i = 1, #r, 2 do\n"
    "  if not redis.call('ZSCORE', P .. 'nodes', r[i]) then\n"
    "    if #out >= max then cut = 1 break end\n"
    "    add(r[i], -1, tonumber(r[i + 1])) end end\n"
    "local leases = {}\n"
    "for i = 3, #ARGV do leases[#leases + 1] = redis.call('GET', P .. 'lease:' .. ARGV[i]) end\n"
    "return {now, cut, out, leases}\n";

const char *const hv_redis_lua[LUA_COUNT] = {
    [LUA_COMMIT] = commit_lua,
    [LUA_PRUNE] = prune_lua,
    [LUA_LOAD_PENDING] = load_pending_lua,
    [LUA_RECORD] = record_lua,
    [LUA_RETRY] = retry_lua,
    [LUA_INSERT] = insert_lua,
    [LUA_ATTEMPTS] = attempts_lua,
    [LUA_BEAT] = beat_lua,
    [LUA_LEASE] = lease_lua,
    [LUA_FIRST] = first_lua,
    [LUA_BY_CREATED] = by_created_lua,
    [LUA_EVENTS] = events_lua,
    [LUA_NODES] = nodes_lua,
    [LUA_RATE] = hv_redis_rate_lua, /* redis_rate.c */
};
