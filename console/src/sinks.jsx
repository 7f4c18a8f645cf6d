// SPDX-License-Identifier: MIT
// sinks.jsx — the Sinks page: every configured sink module with its
// state, position in the event log, lag, counters, current attempt and
// last error (GET /v1/sinks, polled every POLL_MS), and the
// herald.sink_crashed alerts of the server notifier's JSON socket as they
// arrive (a sink failing for its crash_after_s). The table scrolls
// sideways at phone width.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from './api.js';
import { useNotifier } from './notifier.js';

const POLL_MS = 2000;      // GET /v1/sinks
const ALERTS_KEPT = 50;    // newest herald.sink_crashed alerts shown

// The columns: API field, heading, and how a value is shown.
const COLUMNS = [
  ['module', 'Module'],
  ['state', 'State'],
  ['position', 'Position'],
  ['last_event_id', 'Last event'],
  ['lag', 'Lag'],
  ['batches', 'Batches'],
  ['events', 'Events'],
  ['failures', 'Failures'],
  ['attempt', 'Attempt'],
  ['last_error', 'Last error'],
];

// The notifier socket subscribed to every event; keeps herald.sink_crashed.
function useCrashAlerts(onUnauthorized) {
  const [alerts, setAlerts] = useState([]);
  const conn = useNotifier(['server_notification'], {
    onMessage: (msg) => {
      if (msg.type === 'herald.sink_crashed' && msg.data)
        setAlerts((a) => [msg, ...a].slice(0, ALERTS_KEPT));
    },
    onUnauthorized,
  });
  return [alerts, conn.text];
}

function Cell({ sink, field }) {
  const v = sink[field];
  if (field === 'state') return <td data-field={field}><span class={`sink-state sink-${v}`}>{v}</span></td>;
  if (field === 'last_error') return <td data-field={field} class="sink-error">{v ?? ''}</td>;
  return <td data-field={field} class={typeof v === 'number' ? 'num' : undefined}>{v ?? ''}</td>;
}

export function Sinks({ onUnauthorized }) {
  const [sinks, setSinks] = useState(null);
  const [error, setError] = useState('');
  const [alerts, live] = useCrashAlerts(onUnauthorized);
  useEffect(() => {
    let stop = false, timer;
    const tick = async () => {
      try {
        setSinks((await api('/v1/sinks')).sinks);
        setError('');
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return onUnauthorized(`Signed out: ${e.message}`);
        setError(e.message);
      }
      if (!stop) timer = setTimeout(tick, POLL_MS);
    };
    tick();
    return () => { stop = true; clearTimeout(timer); };
  }, []);

  const counts = {};
  for (const s of sinks ?? []) counts[s.state] = (counts[s.state] ?? 0) + 1;
  return (
    <section aria-labelledby="page-title">
      <h2 id="page-title">Sinks</h2>
      {error ? <p class="error" role="alert">{error}</p> : null}
      <p id="sinks-summary">
        {sinks == null ? 'Loading…' : sinks.length === 0 ? 'No sinks configured (the "sinks" of --config).'
          : `${sinks.length} sink${sinks.length > 1 ? 's' : ''}: ` +
            Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')}
      </p>
      {sinks && sinks.length ? (
        <div class="table-scroll" tabindex="0" role="region" aria-label="Sinks table (scrolls sideways)">
          <table class="sinks">
            <caption class="help">Position: every event up to this id is handled. Lag: events committed
              that the sink has not handled yet. Refreshed every {POLL_MS / 1000} s.</caption>
            <thead>
              <tr><th scope="col">Name</th>{COLUMNS.map(([f, h]) => <th key={f} scope="col">{h}</th>)}</tr>
            </thead>
            <tbody>
              {sinks.map((s) => (
                <tr key={s.name} data-sink={s.name}>
                  <th scope="row" title={s.description || undefined}>{s.name}</th>
                  {COLUMNS.map(([f]) => <Cell key={f} sink={s} field={f} />)}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <h3 id="alerts-title">Crash alerts <span class="note" id="alerts-live">({live})</span></h3>
      <p class="help">A sink failing for its <code>crash_after_s</code> is marked crashed and herald
        emits <code>herald.sink_crashed</code>; those that arrive while this page is open are listed here,
        newest first.</p>
      <ol id="sink-alerts" class="sink-alerts" aria-labelledby="alerts-title" aria-live="polite">
        {alerts.length === 0 ? <li class="note">none since this page opened</li> : alerts.map((a) => (
          <li key={a.id} data-event-id={a.id}>
            <time datetime={a.timestamp}>{a.timestamp}</time>{' '}
            <strong>{a.data.sink}</strong> ({a.data.module}): {a.data.reason}
          </li>
        ))}
      </ol>
    </section>
  );
}
