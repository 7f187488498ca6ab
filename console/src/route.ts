/** Hash routes: #/overview, #/reviews, #/reviews/<id>, #/upload. */
import { useEffect, useState } from 'preact/hooks';

export type View = 'overview' | 'reviews' | 'upload';

export interface Route {
  readonly view: View;
  readonly reviewId?: string;
}

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  if (parts[0] === 'reviews') return { view: 'reviews', reviewId: parts[1] ? decodeURIComponent(parts[1]) : undefined };
  if (parts[0] === 'upload') return { view: 'upload' };
  return { view: 'overview' };
}

export function href(route: Route): string {
  return `#/${route.view}${route.reviewId ? `/${encodeURIComponent(route.reviewId)}` : ''}`;
}

export function navigate(route: Route): void {
  const h = href(route);
  if (location.hash !== h) location.hash = h;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
