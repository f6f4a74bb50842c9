// The shell: asks the server for the session, shows the login page without one, else the header
// and the page the path names.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, getJson, messageOf, onUnauthorized, remove, setSession } from './api';
import { Dlq } from './pages/dlq';
import { Login } from './pages/login';
import { Overview } from './pages/overview';
import { Queue } from './pages/queue';
import { Run } from './pages/run';
import { Runs } from './pages/runs';
import { ScheduleDetail } from './pages/schedule';
import { Schedules } from './pages/schedules';
import { navigate, type Route, routeOf, useLocation } from './router';
import { closeStream, openStream } from './stream';
import type { Session } from './types';
import { ErrorNote, SessionContext } from './ui';

const LINKS: [string, string][] = [
  ['/', 'Overview'],
  ['/schedules', 'Schedules'],
  ['/runs', 'Runs'],
  ['/queue', 'Queue'],
  ['/dlq', 'Dead letters'],
];

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <Overview />;
    case 'schedules':
      return <Schedules />;
    case 'schedule':
      return <ScheduleDetail id={route.id} />;
    case 'runs':
      return <Runs />;
    case 'run':
      return <Run id={route.id} />;
    case 'queue':
      return <Queue />;
    case 'dlq':
      return <Dlq />;
    default:
      return <p>No page at this address.</p>;
  }
}

function Header({ session, path, onLogout }: { session: Session; path: string; onLogout: () => void }) {
  const current = (href: string) => (href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`));
  return (
    <header>
      <a class="brand" href="/">
        conductor
      </a>
      <nav>
        {LINKS.map(([href, label]) => (
          <a
            key={href}
            href={href}
            class={current(href) ? 'current' : undefined}
            aria-current={current(href) ? 'page' : undefined}
          >
            {label}
          </a>
        ))}
      </nav>
      <span class="who" title={session.expires_at ? `session expires ${session.expires_at}` : undefined}>
        {session.name} ({session.scope})
      </span>
      <button type="button" onClick={onLogout}>
        Log out
      </button>
    </header>
  );
}

/** Where to go after logging in: the page asked for, else the overview. */
function afterLogin(query: URLSearchParams): string {
  const next = query.get('next');
  return next && next.startsWith('/') && !next.startsWith('//') && routeOf(next.split('?')[0]).page !== 'login' ? next : '/';
}

/** Set beside the HttpOnly session cookie (src/http/routes/session.ts); it holds no secret. */
const LOGIN_HINT = 'conductor_login';

export function App() {
  const { path, query } = useLocation();
  const [session, setState] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const login = (s: Session | null) => {
    setSession(s);
    if (s) openStream();
    else closeStream();
    setState(s);
  };
  useEffect(() => {
    onUnauthorized(() => login(null));
    // Without the server's hint cookie there is no session to ask about: the login page shows
    // without a request answered 401 (which a browser reports as a console error).
    if (!document.cookie.split('; ').includes(`${LOGIN_HINT}=1`)) return login(null);
    getJson<Session>('/session').then(login, (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) login(null);
      else setError(messageOf(err));
    });
  }, []);
  const route = routeOf(path);
  useEffect(() => {
    if (session === null && route.page !== 'login') navigate(`/login?next=${encodeURIComponent(path + location.search)}`, true);
    if (session && route.page === 'login') navigate(afterLogin(query), true);
  }, [session, route.page]);
  if (session === undefined) return error ? <ErrorNote error={error} /> : null;
  if (session === null || route.page === 'login') return <Login onLogin={login} />;
  const logout = () => remove('/session').finally(() => login(null));
  return (
    <SessionContext.Provider value={session}>
      <Header session={session} path={path} onLogout={logout} />
      <main>
        <Page route={route} />
      </main>
    </SessionContext.Provider>
  );
}
