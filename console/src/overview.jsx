// SPDX-License-Identifier: MIT
// overview.jsx — the Overview page: health, version and uptime (GET
// /health), connections, counters and rates (GET /metrics, Prometheus
// text), webhook endpoints and backlog (GET /v1/webhooks and the
// herald_webhook_* metrics), sink lag (GET /v1/sinks) and the nodes (GET
// /v1/nodes, nodes.jsx), polled without reloading. Events/s and
// deliveries/s are counter deltas between polls, kept for the last HISTORY
// samples and drawn with uPlot.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { useNotifier } from './notifier.js';
import { byLabel, parseProm } from './prom.js';
import { Chart } from './chart.jsx';
import { NodesPanel } from './nodes.jsx';

const POLL_MS = 1000;      // /health and /metrics
const SLOW_POLL_MS = 5000; // /v1/webhooks and /v1/sinks
const HISTORY = 300;       // samples kept for the chart: 5 minutes at POLL_MS

function uptime(s) {
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return (d ? `${d}d ` : '') + (d || h ? `${h}h ` : '') + `${m}m ${s % 60}s`;
}

// Runs fn now and every ms until the component goes; errors go to onError.
function usePoll(fn, ms, onError) {
  useEffect(() => {
    let stop = false, timer;
    const tick = async () => {
      try { await fn(); } catch (e) { onError(e); }
      if (!stop) timer = setTimeout(tick, ms);
    };
    tick();
    return () => { stop = true; clearTimeout(timer); };
  }, []);
}

// The server notifier's JSON socket, subscribed to its metrics reports
// (every --metrics-interval): shows that the live path works with the
// token, and the server's own rates. Reconnects after a close.
function useMetricsReports(onUnauthorized) {
  const [last, setLast] = useState(null); // {n, eventsPerS}
  const conn = useNotifier(['metrics'], {
    onMessage: (msg) => {
      if (msg.type === 'metrics.report' && msg.data)
        setLast((l) => ({ n: (l ? l.n : 0) + 1, eventsPerS: msg.data.events_per_s }));
    },
    onUnauthorized,
  });
  if (!conn.live) return conn.text;
  if (!last) return 'connected, waiting for a report';
  return `${last.n} report${last.n > 1 ? 's' : ''}, last ${last.eventsPerS} events/s`;
}

function Stat({ id, label, value, note }) {
  return (
    <div class="stat">
      <dt>{label}</dt>
      <dd id={id}>{value ?? '…'}{note ? <span class="note"> {note}</span> : null}</dd>
    </div>
  );
}

export function Overview({ onUnauthorized }) {
  const [health, setHealth] = useState(null);
  const [healthError, setHealthError] = useState('');
  const [m, setM] = useState(null);
  const [webhooks, setWebhooks] = useState(null);
  const [sinks, setSinks] = useState(null);
  const [error, setError] = useState('');
  const [chart, setChart] = useState([[], [], []]);
  const last = useRef(null);
  const notifier = useMetricsReports(onUnauthorized);

  const fail = (e) => {
    if (e instanceof ApiError && e.status === 401) onUnauthorized(`Signed out: ${e.message}`);
    else setError(e.message);
  };
  usePoll(async () => {
    try {
      setHealth(await api('/health'));
      setHealthError('');
    } catch (e) {
      setHealth(null);
      setHealthError(e.message);
    }
    const text = await api('/metrics');
    const map = parseProm(text);
    const now = Date.now() / 1000;
    const ev = map.get('herald_events_appended_total') ?? 0;
    const dl = map.get('herald_deliveries_total') ?? 0;
    const prev = last.current;
    if (prev && now > prev.t) {
      const dt = now - prev.t;
      const rate = (a, b) => Math.max(0, (a - b) / dt);
      setChart((c) => {
        const next = [c[0].concat(now), c[1].concat(rate(ev, prev.ev)), c[2].concat(rate(dl, prev.dl))];
        return next[0].length > HISTORY ? next.map((s) => s.slice(-HISTORY)) : next;
      });
    }
    last.current = { t: now, ev, dl };
    setM(map);
    setError('');
  }, POLL_MS, fail);
  usePoll(async () => {
    const [w, s] = await Promise.all([api('/v1/webhooks'), api('/v1/sinks')]);
    setWebhooks(w.webhooks);
    setSinks(s.sinks);
  }, SLOW_POLL_MS, fail);

  const conns = m ? byLabel(m, 'herald_connections') : {};
  const n = (name) => (m && m.has(name) ? m.get(name) : null);
  const rates = chart[0].length ? [chart[1].at(-1), chart[2].at(-1)] : [null, null];
  const disabled = webhooks ? webhooks.filter((w) => !w.enabled) : [];
  return (
    <section aria-labelledby="page-title">
      <h2 id="page-title">Overview</h2>
      {error ? <p class="error" role="alert">{error}</p> : null}
      <div class="cards">
        <dl class="card" aria-label="Health">
          <Stat id="health-status" label="Health" value={health ? health.status : healthError || null} />
          <Stat id="store-state" label="Store" value={health ? health.store : null} note={health && health.store_error} />
          <Stat id="version" label="Version" value={health ? health.version : null} />
          <Stat id="uptime" label="Uptime" value={health ? uptime(health.uptime_s) : null} />
          <Stat id="last-event-id" label="Last event id" value={health ? health.last_event_id : null} />
          <Stat id="notifier" label="Server notifier" value={notifier} />
        </dl>
        <dl class="card" aria-label="Connections">
          {['http', 'ws_server', 'ws_peer', 'sse'].map((k) => (
            <Stat key={k} id={`conn-${k}`} label={`Connections: ${k}`} value={conns[`kind="${k}"`]} />
          ))}
          <Stat id="unauthenticated" label="Not yet authenticated" value={n('herald_unauthenticated_connections')} />
        </dl>
        <dl class="card" aria-label="Traffic">
          <Stat id="events-total" label="Events appended" value={n('herald_events_appended_total')} />
          <Stat id="events-rate" label="Events/s" value={rates[0] == null ? null : rates[0].toFixed(1)} />
          <Stat id="deliveries-total" label="Deliveries" value={n('herald_deliveries_total')} />
          <Stat id="deliveries-rate" label="Deliveries/s" value={rates[1] == null ? null : rates[1].toFixed(1)} />
          <Stat id="slow-consumers" label="Slow-consumer closes" value={n('herald_slow_consumers_total')} />
        </dl>
        <dl class="card" aria-label="Webhooks and sinks">
          <Stat id="webhook-endpoints" label="Webhook endpoints"
            value={webhooks ? `${webhooks.length}` : null}
            note={disabled.length ? `(${disabled.length} disabled)` : ''} />
          <Stat id="webhook-backlog" label="Webhook backlog (outbox)" value={n('herald_webhook_pending')} />
          <Stat id="webhook-inflight" label="Webhook deliveries in flight" value={n('herald_webhook_in_flight')} />
          <Stat id="webhook-gave-up" label="Webhook deliveries given up" value={n('herald_webhook_gave_up_total')} />
          <Stat id="sinks" label="Sinks"
            value={sinks ? (sinks.length ? sinks.map((s) => `${s.name}: ${s.state}, lag ${s.lag}`).join('; ') : 'none configured') : null} />
        </dl>
      </div>
      <h3>Events/s and deliveries/s, last {Math.round((HISTORY * POLL_MS) / 60000)} minutes</h3>
      <Chart label="Events per second and deliveries per second" data={chart} windowS={(HISTORY * POLL_MS) / 1000}
        series={[{ label: 'events/s', color: '#2563eb' }, { label: 'deliveries/s', color: '#d97706' }]} />
      <NodesPanel onUnauthorized={onUnauthorized} />
    </section>
  );
}
