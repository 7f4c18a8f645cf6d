// SPDX-License-Identifier: MIT
// prom.js — reads the few figures the console needs from GET /metrics
// (Prometheus text format 0.0.4): "name{labels} value" lines; comments
// and malformed lines are skipped.
export function parseProm(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    if (!Number.isNaN(v)) out.set(m[1] + (m[2] || ''), v);
  }
  return out;
}

// The values of one metric by label set: {"kind=\"http\"": 3, ...}.
export function byLabel(map, name) {
  const res = {};
  for (const [k, v] of map) {
    if (k === name) res[''] = v;
    else if (k.startsWith(name + '{')) res[k.slice(name.length + 1, -1)] = v;
  }
  return res;
}
