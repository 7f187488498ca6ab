/**
 * Tokens and authenticated calls. Tokens live in memory; only the IdToken is copied to sessionStorage so a reload
 * keeps the session (never localStorage). A 401 from the API signs the user out.
 */
import type { ConsoleError } from '../../src/review/console-api';

const STORAGE_KEY = 'console.idToken';

export interface Tokens {
  readonly IdToken: string;
  readonly AccessToken?: string;
  readonly RefreshToken?: string;
  readonly ExpiresIn?: number;
  readonly TokenType?: string;
}

let tokens: Tokens | undefined;
let onUnauthorized: (() => void) | undefined;

/** Seconds-since-epoch expiry of a JWT, or undefined when it cannot be read. */
function expiry(jwt: string): number | undefined {
  try {
    const part = jwt.split('.')[1];
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const exp = JSON.parse(json).exp;
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}

function expired(jwt: string): boolean {
  const exp = expiry(jwt);
  return exp !== undefined && exp * 1000 <= Date.now();
}

export function setTokens(t: Tokens): void {
  tokens = t;
  try {
    sessionStorage.setItem(STORAGE_KEY, t.IdToken);
  } catch {
    // storage unavailable: the session lasts until reload
  }
}

/** The stored IdToken of this tab, if any and not expired. */
export function restoreTokens(): boolean {
  try {
    const id = sessionStorage.getItem(STORAGE_KEY);
    if (id && !expired(id)) {
      tokens = { IdToken: id };
      return true;
    }
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // ignore
  }
  return false;
}

export function clearTokens(): void {
  tokens = undefined;
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // ignore
  }
}

export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

/** An error answer of the console API (`ConsoleError`), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(message: string, readonly code: string, readonly status: number) {
    super(message);
  }
}

/** Calls the console API with the IdToken; resolves to the JSON answer, rejects with ApiError. */
export async function api<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  if (!tokens || expired(tokens.IdToken)) {
    clearTokens();
    onUnauthorized?.();
    throw new ApiError('Your session has ended. Sign in again.', 'Unauthorized', 401);
  }
  const headers: Record<string, string> = { Authorization: `Bearer ${tokens.IdToken}` };
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.method ?? 'GET',
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
      cache: 'no-store',
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError('The console API cannot be reached.', 'NetworkError', 0);
  }
  if (res.status === 401) {
    clearTokens();
    onUnauthorized?.();
    throw new ApiError('Your session has ended. Sign in again.', 'Unauthorized', 401);
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json ?? {}) as Partial<ConsoleError>;
    throw new ApiError(err.message || `${res.status} ${res.statusText || 'error'}`, err.code || String(res.status), res.status);
  }
  return json as T;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
