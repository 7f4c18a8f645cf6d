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
    "local function new_row(ep, ev, at, c)\n"                                                \
    "  local id = redis.call('HINCRBY', P .. 'meta', 'outbox_seq', 1)\n"                     \
    "  redis.call('HSET', P .. 'ob:' .. id, 'ep', ep, 'ev', ev, 'st', 0, 'n', 0, 'at', at, 'c', c)\n" \
    "  redis.call('ZADD', P .. 'ob:all', id, id)\n"                                          \
    "  pending(id, ep, ev, true)\n"                                                          \
    "  return id\n"                                                                          \
    "end\n"

/* COMMIT: ARGV 2..4 = n events, n kv changes, n outbox rows; then per
 * event type, room, user, data; per change ns, key, value; per row
 * endpoint, event index (0-based), next_at. Returns {base id, time, row ids…}. */
static const char commit_lua[] = PRELUDE
    "local n, nkv, nrows = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local e0, k0, r0 = 5, 5 + 4 * n, 5 + 4 * n + 3 * nkv\n"
    "local ok = is(P .. 'log', 'stream') and is(P .. 'meta', 'hash')\n"
    "  and is(P .. 'ob:pending', 'zset') and is(P .. 'ob:all', 'zset')\n"
    "  and is(P .. 'ob:owed', 'zset') and is(P .. 'ob:owedn', 'hash')\n"
    "for i = 0, nkv - 1 do local ns = ARGV[k0 + 3 * i]\n"
    "  ok = ok and is(P .. 'kv:' .. ns, 'hash') and is(P .. 'kvo:' .. ns, 'zset') end\n"
    "for i = 0, nrows - 1 do local ep, idx = ARGV[r0 + 3 * i], tonumber(ARGV[r0 + 3 * i + 1])\n"
    "  if ep == '' or idx == nil or idx < 0 or idx >= n then return redis.error_reply('bad outbox row') end\n"
    "  ok = ok and is(P .. 'ob:pending:' .. ep, 'zset') end\n"
    "if not ok then return redis.error_reply('WRONGTYPE a herald key holds another type') end\n"
    "local now, base = now_ms(), meta('last_id')\n"
    "local last_t = meta('last_time_ms')\n"
    "if now < last_t then now = last_t end\n"
    "for i = 0, nkv - 1 do\n"
    "  local ns, key, v = ARGV[k0 + 3 * i], ARGV[k0 + 3 * i + 1], opt(ARGV[k0 + 3 * i + 2])\n"
    "  if v then redis.call('HSET', P .. 'kv:' .. ns, key, v)\n"
    "    if not redis.call('ZSCORE', P .. 'kvo:' .. ns, key) then\n"
    "      redis.call('ZADD', P .. 'kvo:' .. ns, redis.call('HINCRBY', P .. 'meta', 'kv_seq', 1), key) end\n"
    "  else redis.call('HDEL', P .. 'kv:' .. ns, key) redis.call('ZREM', P .. 'kvo:' .. ns, key) end\n"
    "end\n"
    "for i = 0, n - 1 do\n"
    "  local a = {'XADD', P .. 'log', n2s(base + 1 + i) .. '-0', 't', ARGV[e0 + 4 * i], 'ms', n2s(now),\n"
    "             'd', ARGV[e0 + 4 * i + 3]}\n"
    "  local room, user = opt(ARGV[e0 + 4 * i + 1]), opt(ARGV[e0 + 4 * i + 2])\n"
    "  if room then a[#a + 1] = 'r' a[#a + 1] = room end\n"
    "  if user then a[#a + 1] = 'u' a[#a + 1] = user end\n"
    "  redis.call(unpack(a))\n"
    "end\n"
    "redis.call('HSET', P .. 'meta', 'last_id', n2s(base + n), 'last_time_ms', n2s(now))\n"
    "local out = {base, now}\n"
    "for i = 0, nrows - 1 do\n"
    "  out[#out + 1] = new_row(ARGV[r0 + 3 * i], base + 1 + tonumber(ARGV[r0 + 3 * i + 1]), "
    "ARGV[r0 + 3 * i + 2], now)\n"
    "end\n"
    "return out\n";

/* PRUNE: ARGV 2..4 = keep_events (0: no count limit), max_age_ms (0: no
 * age limit), the most entries one call may look at. It runs about once a
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
    "local keep, age, cap = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local log = P .. 'log'\n"
    "local b = 0\n"
    "if keep > 0 then local len = redis.call('XLEN', log)\n"
    "  if len > keep then local r = redis.call('XRANGE', log, '-', '+', 'COUNT', math.min(len - keep, cap))\n"
    "    if #r > 0 then b = eid(r[#r]) end end end\n"
    "local cutoff = 0\n"
    "if age > 0 then cutoff = now_ms() - age\n"
    "  local start, seen, page = '-', 0, 16\n"
    "  while seen < cap do local r = redis.call('XRANGE', log, start, '+', 'COUNT', page)\n"
    "    local stop = #r < page\n"
    "    for _, e in ipairs(r) do if ems(e) < cutoff then if eid(e) > b then b = eid(e) end\n"
    "      else stop = true break end end\n"
    "    seen = seen + #r\n"
    "    if stop then break end\n"
    "    start = '(' .. r[#r][1]\n"
    "    if page < 1000 then page = page * 4 end end\n"
    "end\n"
    "local deleted, maxdel = 0, 0\n"
    "if b > 0 then\n"
    "  local owed = redis.call('ZRANGEBYSCORE', P .. 'ob:owed', '-inf', b, 'LIMIT', 0, 1)\n"
    "  local o1 = owed[1] and tonumber(owed[1]) or (b + 1)\n"
    "  local below = redis.call('XREVRANGE', log, '(' .. n2s(o1) .. '-0', '-', 'COUNT', 1)\n"
    "  if #below > 0 then maxdel = eid(below[1])\n"
    "    deleted = redis.call('XTRIM', log, 'MINID', n2s(o1) .. '-0') end\n"
    "  if owed[1] then\n"
    "    local start, seen = n2s(o1) .. '-0', 0\n"
    "    while seen < cap do local r = redis.call('XRANGE', log, start, n2s(b) .. '-0', 'COUNT', 1000)\n"
    "      for _, e in ipairs(r) do local id = eid(e)\n"
    "        if not redis.call('ZSCORE', P .. 'ob:owed', id) then\n"
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

/* ID_AT_TIME: ARGV[2] = time. The newest event stored at or before it
 * (0: none), by binary search on ids: times never decrease along the log. */
static const char id_at_time_lua[] = PRELUDE
    "local log, t = P .. 'log', tonumber(ARGV[2])\n"
    "local first = redis.call('XRANGE', log, '-', '+', 'COUNT', 1)[1]\n"
    "if not first or ems(first) > t then return 0 end\n"
    "local last = redis.call('XREVRANGE', log, '+', '-', 'COUNT', 1)[1]\n"
    "if ems(last) <= t then return eid(last) end\n"
    "local ans, lo, hi = eid(first), eid(first) + 1, eid(last)\n"
    "while lo <= hi do local mid = math.floor((lo + hi) / 2)\n"
    "  local e = redis.call('XRANGE', log, n2s(mid) .. '-0', '+', 'COUNT', 1)[1]\n"
    "  if ems(e) <= t then ans = eid(e) lo = ans + 1 else hi = mid - 1 end\n"
    "end\n"
    "return ans\n";

/* LOAD_PENDING: ARGV 2..3 = after id, limit. Pending rows with id > after
 * in id order: {id, endpoint, event id, attempts, next_at, entry or nil}. */
static const char load_pending_lua[] = PRELUDE
    "local out = {}\n"
    "for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'ob:pending', '(' .. ARGV[2], '+inf',"
    " 'LIMIT', 0, tonumber(ARGV[3]))) do\n"
    "  local h = redis.call('HMGET', P .. 'ob:' .. id, 'ep', 'ev', 'n', 'at')\n"
    "  if h[1] then\n"
    "    local e = redis.call('XRANGE', P .. 'log', h[2] .. '-0', h[2] .. '-0')\n"
    "    out[#out + 1] = {tonumber(id), h[1], tonumber(h[2]), tonumber(h[3]), tonumber(h[4]), e[1] or false}\n"
    "  end\n"
    "end\n"
    "return out\n";

/* RECORD: ARGV[2] = count, then per attempt: row id, endpoint, event id,
 * time, http status (0: none), latency, error, response, new state,
 * attempts, next_at. Stores each attempt and the row's new state. */
static const char record_lua[] = PRELUDE
    "local n = tonumber(ARGV[2])\n"
    "for i = 0, n - 1 do local b = 3 + 11 * i\n"
    "  for j = 0, 10 do if j ~= 1 and j ~= 6 and j ~= 7 and not tonumber(ARGV[b + j]) then\n"
    "    return redis.error_reply('bad attempt') end end\n"
    "  if ARGV[b + 1] == '' then return redis.error_reply('attempt without endpoint') end\n"
    "end\n"
    "for i = 0, n - 1 do local b = 3 + 11 * i\n"
    "  local row, ep, ev = ARGV[b], ARGV[b + 1], ARGV[b + 2]\n"
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
    "  local h = redis.call('HMGET', P .. 'ob:' .. row, 'st', 'ep', 'ev')\n"
    "  if h[1] then local was, now = h[1] == '0', ARGV[b + 8] == '0'\n"
    "    if was ~= now then pending(row, h[2], h[3], now) end\n"
    "    redis.call('HSET', P .. 'ob:' .. row, 'st', ARGV[b + 8], 'n', ARGV[b + 9], 'at', ARGV[b + 10])\n"
    "  end\n"
    "end\n"
    "return n\n";

/* RETRY: ARGV 2..4 = endpoint, row id, now. 1 if the row of that endpoint
 * exists (now pending, due now), 0 if not. */
static const char retry_lua[] = PRELUDE
    "local k = P .. 'ob:' .. ARGV[3]\n"
    "local h = redis.call('HMGET', k, 'ep', 'st', 'ev')\n"
    "if h[1] ~= ARGV[2] then return 0 end\n"
    "if h[2] ~= '0' then pending(ARGV[3], h[1], h[3], true) end\n"
    "redis.call('HSET', k, 'st', 0, 'at', ARGV[4])\n"
    "return 1\n";

/* INSERT: ARGV 2..3 = endpoint, now; then event ids. A pending row for
 * each event still stored. Returns {rows, first row id}. */
static const char insert_lua[] = PRELUDE
    "local count, first = 0, 0\n"
    "for i = 4, #ARGV do\n"
    "  if #redis.call('XRANGE', P .. 'log', ARGV[i] .. '-0', ARGV[i] .. '-0') > 0 then\n"
    "    local id = new_row(ARGV[2], tonumber(ARGV[i]), ARGV[3], ARGV[3])\n"
    "    if count == 0 then first = id end\n"
    "    count = count + 1\n"
    "  end\n"
    "end\n"
    "return {count, first}\n";

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

const char *const hv_redis_lua[LUA_COUNT] = {
    [LUA_COMMIT] = commit_lua,
    [LUA_PRUNE] = prune_lua,
    [LUA_ID_AT_TIME] = id_at_time_lua,
    [LUA_LOAD_PENDING] = load_pending_lua,
    [LUA_RECORD] = record_lua,
    [LUA_RETRY] = retry_lua,
    [LUA_INSERT] = insert_lua,
    [LUA_ATTEMPTS] = attempts_lua,
};
