// SPDX-License-Identifier: MIT
// api.js — every call the console makes goes through here: same-origin
// fetches of the public API with the server token as a Bearer header, and
// the server notifier's JSON socket authenticated by its first frame. The
// token lives in sessionStorage only (this tab, until it closes or the
// user signs out): never in a URL, a cookie or localStorage.
const KEY = 'herald.token';

export const session = {
  token: () => sessionStorage.getItem(KEY),
  signIn: (t) => sessionStorage.setItem(KEY, t),
  signOut: () => sessionStorage.removeItem(KEY),
};

// An API refusal: status and the API's own message ({"errors": "..."}).
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// fetch(path) with the token; resolves to the parsed JSON (or the text),
// rejects with an ApiError carrying the API's message.
export async function api(path, { method = 'GET', body, token = session.token() } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit', cache: 'no-store', redirect: 'error',
    });
  } catch (e) {
    // A token a header cannot carry (not Latin-1) fails here, unsent.
    throw new ApiError(0, `request failed: ${e.message}`);
  }
  const text = await res.text();
  let data = text;
  if ((res.headers.get('content-type') || '').startsWith('application/json')) {
    try { data = JSON.parse(text); } catch { /* keep the text */ }
  }
  if (!res.ok) throw new ApiError(res.status, (data && data.errors) || `HTTP ${res.status}`);
  return data;
}

// Checks a token with GET /validate (200 for the server token, 401 with
// the API's message otherwise).
export function validate(token) {
  return api('/validate', { token });
}

// The server notifier's JSON variant: auth frame, then the subscriptions
// given; onMessage gets every parsed frame after "authenticated".
// Returns the socket (close() it when the page goes).
export function openNotifier(subscriptions, onMessage, onClose) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/socket/server/websocket`);
  ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: session.token() }));
  ws.onmessage = (m) => {
    let msg;
    try { msg = JSON.parse(m.data); } catch { return; }
    if (msg.type === 'authenticated') {
      for (const s of subscriptions) ws.send(JSON.stringify({ type: 'subscribe', event_type: s }));
      return;
    }
    onMessage(msg);
  };
  ws.onclose = (e) => onClose && onClose(e.code, e.reason);
  return ws;
}
