// SPDX-License-Identifier: MIT
// sink_http_receiver.mjs — a stand-in HTTP backend for test_sink_http.sh:
// what a Janus-style event backend is to herald's "http" sink module.
//
//   node sink_http_receiver.mjs --port P --log FILE [--answer /path:STATUS:N …] [--delay-ms D]
//                               [--hold FILE]
//
// Listens on 127.0.0.1:P (0 = any; the port is printed as "port N" on
// stdout once listening). Every request is appended to FILE as one JSON
// line {"method","path","headers","status","body"} where body is the
// request body decoded (gunzipped when Content-Encoding: gzip) and parsed
// as JSON (or {"unparsed": text} when it is not JSON). The write is
// synchronous, so a line is on disk before the answer goes out and a
// kill -9 of this process loses nothing it answered 2xx to. The first N
// requests to a path given with --answer get STATUS instead (a number, or
// "hang": no answer at all), counted per process, so a restarted receiver
// does it again; --delay-ms slows every answer. Everything else gets 204.
// With --hold, no answer goes out while FILE exists (requests are still
// logged as they arrive): a test holds the sender mid-stream, in a request,
// for as long as it needs, and lets it go by removing the file.
import http from 'node:http';
import fs from 'node:fs';
import zlib from 'node:zlib';

const args = process.argv.slice(2);
let port = 0, log = null, delay = 0, hold = null;
const special = new Map(); // path -> {status, left}
for (let i = 0; i < args.length; i += 2) {
  const [k, v] = [args[i], args[i + 1]];
  if (k === '--port') port = Number(v);
  else if (k === '--log') log = v;
  else if (k === '--delay-ms') delay = Number(v);
  else if (k === '--hold') hold = v;
  else if (k === '--answer') {
    const [path, status, n] = v.split(':');
    special.set(path, { status: status === 'hang' ? 'hang' : Number(status), left: Number(n) });
  }
  else { console.error(`unknown option ${k}`); process.exit(2); }
}
if (!log) { console.error('--log FILE is required'); process.exit(2); }

function decode(headers, raw) {
  let text;
  try {
    text = (headers['content-encoding'] === 'gzip' ? zlib.gunzipSync(raw) : raw).toString('utf8');
  } catch (e) {
    return { unparsed: `bad gzip: ${e.message}` };
  }
  try { return JSON.parse(text); } catch { return { unparsed: text }; }
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const sp = special.get(req.url);
    const status = sp && sp.left > 0 ? sp.status : 204;
    if (sp && sp.left > 0) sp.left--;
    const rec = { method: req.method, path: req.url, headers: req.headers, status,
                  body: decode(req.headers, Buffer.concat(chunks)) };
    fs.appendFileSync(log, JSON.stringify(rec) + '\n');
    if (status === 'hang') return;
    const headers = status >= 300 && status < 400 ? { location: '/elsewhere' } : { 'content-type': 'text/plain' };
    const answer = () => {
      if (hold && fs.existsSync(hold)) return setTimeout(answer, 10);
      res.writeHead(status, status === 204 ? {} : headers);
      res.end(status === 204 ? undefined : status === 503 ? 'try again later' : 'moved');
    };
    setTimeout(answer, delay);
  });
});
server.listen(port, '127.0.0.1', () => console.log(`port ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
