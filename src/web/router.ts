// Client-side routing on location.pathname: the server answers every page path with the same
// index.html, so a direct load and a click on a link land on the same page.
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'login' }
  | { page: 'overview' }
  | { page: 'schedules' }
  | { page: 'schedule'; id: string }
  | { page: 'runs' }
  | { page: 'run'; id: string }
  | { page: 'queue' }
  | { page: 'dlq' }
  | { page: 'missing' };

const CHANGE = 'conductor:navigate';

/** The page a path shows; ids are single path segments, percent-encoded. */
export function routeOf(pathname: string): Route {
  let parts: string[];
  try {
    parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return { page: 'missing' }; // a malformed %-escape names no page
  }
  const [first, id, ...rest] = parts;
  if (rest.length > 0) return { page: 'missing' };
  if (first === undefined) return { page: 'overview' };
  if (id === undefined) {
    const page = ({ login: 'login', schedules: 'schedules', runs: 'runs', queue: 'queue', dlq: 'dlq' } as const)[first];
    return page ? { page } : { page: 'missing' };
  }
  if (first === 'schedules') return { page: 'schedule', id };
  if (first === 'runs') return { page: 'run', id };
  return { page: 'missing' };
}

export function navigate(href: string, replace = false): void {
  if (href === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', href);
  else history.pushState(null, '', href);
  window.dispatchEvent(new Event(CHANGE));
  if (!replace) window.scrollTo(0, 0);
}

/** The current path and query, updated on navigate() and on the browser's back and forward. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const read = () => location.pathname + location.search;
  const [href, setHref] = useState(read);
  useEffect(() => {
    const update = () => setHref(read());
    window.addEventListener('popstate', update);
    window.addEventListener(CHANGE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(CHANGE, update);
    };
  }, []);
  const url = new URL(href, location.origin);
  return { path: url.pathname, query: url.searchParams };
}

/** Plain clicks on links to our own pages route in place; new tabs, downloads and other sites are left to the browser. */
export function routeLinkClicks(): void {
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.('a');
    if (!a || a.target || a.hasAttribute('download')) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
    e.preventDefault();
    navigate(url.pathname + url.search);
  });
}

export const pageHref = {
  schedule: (id: string) => `/schedules/${encodeURIComponent(id)}`,
  run: (id: string) => `/runs/${encodeURIComponent(id)}`,
  runs: (task?: string) => (task ? `/runs?task=${encodeURIComponent(task)}` : '/runs'),
};
