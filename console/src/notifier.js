// SPDX-License-Identifier: MIT
// notifier.js — the server notifier's JSON socket as a Preact hook, for
// every page that shows something live (the Overview's metrics reports,
// the Events tail, the Rooms page's presence, the Sinks page's alerts):
// one place that connects, reconnects after a close with a growing delay,
// says whether the socket is live, and signs out when the server refuses
// the token, so the pages differ only in what they do with a message.
import { useEffect, useRef, useState } from 'preact/hooks';
import { openNotifier } from './api.js';

const BACKOFF_MIN_MS = 500;   // first reconnect after a close, doubled each time
const BACKOFF_MAX_MS = 30000; // ... up to this; back to the minimum once subscribed
// Close reasons that mean the token is no good (herald closes with 1000).
const REFUSED = new Set(['invalid token', 'console token expired']);

// Opens the socket with `subscriptions` (e.g. ['server_notification']) for
// as long as the component is shown. handlers (read at each call, so they
// may change between renders): onMessage(msg) for every frame after the
// subscription's answer, onLive() each time the socket is (re)subscribed,
// onUnauthorized(why) when the server refuses the token. Nothing opens
// until `ready` is true (a page may need to read something first).
// Returns {live, text}: text is what the page shows of the connection.
export function useNotifier(subscriptions, handlers, ready = true) {
  const [state, setState] = useState({ live: false, text: 'connecting…' });
  const current = useRef(handlers);
  current.current = handlers;
  useEffect(() => {
    if (!ready) return undefined;
    let ws, timer, stop = false, delay = BACKOFF_MIN_MS;
    const connect = () => {
      ws = openNotifier(subscriptions, (msg) => {
        if (msg.type === 'subscribe_response') {
          delay = BACKOFF_MIN_MS;
          setState({ live: true, text: 'live' });
          current.current.onLive?.();
        } else {
          current.current.onMessage?.(msg);
        }
      }, (code, reason) => {
        if (stop) return;
        if (REFUSED.has(reason)) {
          current.current.onUnauthorized?.(`Signed out: the server notifier refused the token (${reason})`);
          return;
        }
        setState({ live: false, text: `closed (${code}${reason ? ` ${reason}` : ''}), reconnecting in ${delay / 1000} s` });
        timer = setTimeout(connect, delay);
        delay = Math.min(delay * 2, BACKOFF_MAX_MS);
      });
    };
    connect();
    return () => { stop = true; clearTimeout(timer); ws.close(); };
  }, [ready]);
  return state;
}
