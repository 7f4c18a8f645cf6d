// SPDX-License-Identifier: MIT
// nodes.jsx — the Overview's Nodes panel: GET /v1/nodes every 5 s, one row
// per node sharing the store (Redis mode: which are alive, when each last
// beat, the peer sessions it holds, what it owns: webhooks, retention,
// sink:<name>), as Redis records it. With SQLite it is one row: this node.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from './api.js';

const POLL_MS = 5000;

function lastBeat(n) {
  if (n.taken_over_at) return `— (taken over at ${new Date(n.taken_over_at).toLocaleTimeString()})`;
  if (n.last_beat == null) return n.state === 'alive' ? 'no heartbeat (one node)' : '—';
  return `${(n.age_ms / 1000).toFixed(1)} s ago`;
}

function aliveText(n) {
  if (n.alive) return 'yes';
  const why = { silent: 'silent', left: 'stopped', taken_over: 'taken over' }[n.state] ?? n.state;
  return `no (${why})`;
}

export function NodesPanel({ onUnauthorized }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let stop = false, timer;
    const tick = async () => {
      try {
        const d = await api('/v1/nodes');
        if (!stop) { setData(d); setError(''); }
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) { onUnauthorized(`Signed out: ${e.message}`); return; }
        if (!stop) setError(e.message);
      }
      if (!stop) timer = setTimeout(tick, POLL_MS);
    };
    tick();
    return () => { stop = true; clearTimeout(timer); };
  }, []);

  return (
    <section class="nodes" aria-labelledby="nodes-title">
      <h3 id="nodes-title">Nodes{data ? <span class="note"> ({data.store}{data.store === 'redis'
        ? `, a node silent for ${data.node_timeout_ms / 1000} s is taken over` : ', one node'})</span> : null}</h3>
      {error ? <p class="error" role="alert" id="nodes-error">{error}</p> : null}
      {data && data.truncated
        ? <p class="note">Showing the first {data.nodes.length} nodes (at most {data.max_nodes}).</p> : null}
      {/* focusable so that a keyboard can scroll it at phone width */}
      <div class="table-scroll" tabIndex={0} role="region" aria-labelledby="nodes-title">
        <table id="nodes">
          <thead>
            <tr>
              <th scope="col">Node</th><th scope="col">Alive</th><th scope="col">Last beat</th>
              <th scope="col">Sessions</th><th scope="col">Owns</th>
            </tr>
          </thead>
          <tbody>
            {data ? data.nodes.map((n) => (
              <tr key={n.id} data-node={n.id} class={n.alive ? '' : 'dead'}>
                <th scope="row">{n.id}{n.id === data.self ? <span class="note"> (this node)</span> : null}</th>
                <td>{aliveText(n)}</td>
                <td title={n.last_beat ?? n.taken_over_at ?? ''}>{lastBeat(n)}</td>
                <td>{n.sessions}</td>
                <td>{n.owns.length ? n.owns.join(', ') : '—'}
                  {n.webhook_rows ? <span class="note"> ({n.webhook_rows} webhook deliveries)</span> : null}</td>
              </tr>
            )) : <tr><td colSpan={5}>…</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  );
}
