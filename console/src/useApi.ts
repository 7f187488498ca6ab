import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, errorMessage } from './session';

/** What a page knows of one GET: its last answer and error, whether one is running, and a way to ask again. */
export interface ApiState<T> {
  readonly data?: T;
  readonly error?: string;
  readonly loading: boolean;
  /** When the last answer arrived. */
  readonly updated?: Date;
  reload(): void;
}

export interface ApiOptions {
  /** Ask again this often while the page is visible. */
  readonly refreshMs?: number;
  /** Keep showing the previous path's answer until the new one arrives (a chart), instead of clearing it (a list). */
  readonly keepWhileLoading?: boolean;
}

/**
 * GETs `path` when the component mounts and whenever `path` changes; an answer for a path the component has moved away
 * from (or after it unmounted) is dropped.
 */
export function useApi<T>(path: string, options: ApiOptions = {}): ApiState<T> {
  const { refreshMs, keepWhileLoading } = options;
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(false);
  const [updated, setUpdated] = useState<Date>();
  const signal = useRef<AbortSignal>();

  const load = useCallback(async (s: AbortSignal) => {
    setLoading(true);
    try {
      const value = await api<T>(path, { signal: s });
      if (s.aborted) return;
      setData(value);
      setError(undefined);
      setUpdated(new Date());
    } catch (e) {
      if (!s.aborted) setError(errorMessage(e));
    } finally {
      if (!s.aborted) setLoading(false);
    }
  }, [path]);

  useEffect(() => {
    const ctl = new AbortController();
    signal.current = ctl.signal;
    if (!keepWhileLoading) setData(undefined);
    void load(ctl.signal);
    const timer = refreshMs === undefined ? undefined : setInterval(() => {
      if (document.visibilityState === 'visible') void load(ctl.signal);
    }, refreshMs);
    return () => {
      ctl.abort();
      if (timer !== undefined) clearInterval(timer);
    };
  }, [load, refreshMs, keepWhileLoading]);

  const reload = useCallback(() => {
    if (signal.current) void load(signal.current);
  }, [load]);
  return { data, error, loading, updated, reload };
}
