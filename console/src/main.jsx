// SPDX-License-Identifier: MIT
// main.jsx — the console's shell: the sign-in form, the navigation and the
// page chosen by the URL's hash (#/overview, #/events, ...). Pages that are
// not built yet say so. Rendered with Preact; no data lives in the page
// itself: every figure comes from the public API with the token.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { ApiError, session, validate } from './api.js';
import { Overview } from './overview.jsx';
import { Rooms } from './rooms.jsx';
import { Events } from './events.jsx';
import { Webhooks } from './webhooks.jsx';
import { Sinks } from './sinks.jsx';

const PAGES = [
  { id: 'overview', title: 'Overview', page: Overview },
  { id: 'events', title: 'Events', page: Events },
  { id: 'rooms', title: 'Rooms and peers', page: Rooms },
  { id: 'webhooks', title: 'Webhooks', page: Webhooks },
  { id: 'sinks', title: 'Sinks', page: Sinks },
];

// A console token (POST /v1/console/token) names its expiry:
// hct_<Unix seconds>_<MAC>. Its expiry as a Date, or null for another token.
function consoleExpiry(token) {
  const m = /^hct_([1-9][0-9]{0,11})_[0-9a-f]{64}$/.exec(token || '');
  return m ? new Date(Number(m[1]) * 1000) : null;
}

function currentPage() {
  const id = location.hash.replace(/^#\/?/, '');
  return PAGES.find((p) => p.id === id) ?? PAGES[0];
}

function SignIn({ onSignedIn, notice }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(notice || '');
  const [busy, setBusy] = useState(false);
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await validate(token);
      session.signIn(token);
      onSignedIn();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <main class="signin">
      <h1>herald console</h1>
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h2 id="signin-title">Sign in</h2>
        <label for="token">Server token or console token</label>
        <input id="token" name="token" type="password" autocomplete="off" required
          value={token} onInput={(e) => setToken(e.currentTarget.value)}
          aria-invalid={error ? 'true' : 'false'} aria-describedby="token-error token-help" />
        <p id="token-error" class="error" role="alert">{error}</p>
        <p id="token-help" class="help">A console token (<code>herald-cli console-token</code>) expires by
          itself. The token is kept for this tab only (sessionStorage) and sent to this server's API as a
          Bearer header.</p>
        <button type="submit" disabled={busy}>{busy ? 'Checking…' : 'Sign in'}</button>
      </form>
    </main>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState(!!session.token());
  const [notice, setNotice] = useState('');
  const [page, setPage] = useState(currentPage());
  useEffect(() => {
    const onHash = () => setPage(currentPage());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  function signOut(why) {
    session.signOut();
    setNotice(typeof why === 'string' ? why : '');
    setSignedIn(false);
  }
  // A console token signs out when it expires (the API would refuse it
  // from then on with 401 "Console token expired").
  const expires = signedIn ? consoleExpiry(session.token()) : null;
  useEffect(() => {
    if (!expires) return undefined;
    const t = setTimeout(() => signOut('Signed out: Console token expired'),
      Math.min(Math.max(0, expires.getTime() - Date.now()), 2 ** 31 - 1));
    return () => clearTimeout(t);
  }, [signedIn, expires && expires.getTime()]);
  if (!signedIn)
    return <SignIn notice={notice} onSignedIn={() => { setNotice(''); setSignedIn(true); }} />;
  const Page = page.page;
  return (
    <div class="shell">
      <header>
        <h1>herald</h1>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map((p) => (
              <li key={p.id}>
                <a href={`#/${p.id}`} aria-current={p.id === page.id ? 'page' : undefined}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {expires ? (
          <p class="token-expiry" id="token-expiry">Console token, expires{' '}
            <time datetime={expires.toISOString()}>{expires.toLocaleString()}</time></p>
        ) : null}
        <button type="button" class="signout" onClick={() => signOut()}>Sign out</button>
      </header>
      <main>
        <Page onUnauthorized={signOut} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app'));
