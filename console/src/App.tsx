import { useCallback, useEffect, useState } from 'preact/hooks';
import type { ConsoleConfig, ConsoleUser } from '../../src/review/console-api';
import { Overview } from './Overview';
import { Reviews } from './Reviews';
import { href, useRoute } from './route';
import { api, ApiError, clearTokens, errorMessage, restoreTokens, setTokens, setUnauthorizedHandler, type Tokens } from './session';
import { SignIn } from './SignIn';
import { Upload } from './Upload';

type Phase =
  | { readonly name: 'loading' }
  | { readonly name: 'failed'; readonly message: string }
  | { readonly name: 'signin'; readonly notice?: string }
  | { readonly name: 'ready'; readonly user: ConsoleUser };

async function loadConfig(): Promise<ConsoleConfig> {
  const res = await fetch('/config.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`The console's configuration could not be loaded (${res.status}).`);
  return res.json();
}

export function App() {
  const [config, setConfig] = useState<ConsoleConfig>();
  const [phase, setPhase] = useState<Phase>({ name: 'loading' });
  const route = useRoute();

  const loadUser = useCallback(async () => {
    setPhase({ name: 'loading' });
    try {
      const user = await api<ConsoleUser>('/api/me');
      setPhase({ name: 'ready', user });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return; // the handler shows the sign-in form
      setPhase({ name: 'failed', message: errorMessage(e) });
    }
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => setPhase({ name: 'signin', notice: 'Your session has ended. Sign in again.' }));
    loadConfig()
      .then((c) => {
        setConfig(c);
        document.title = `${c.title} · console`;
        if (restoreTokens()) void loadUser();
        else setPhase({ name: 'signin' });
      })
      .catch((e) => setPhase({ name: 'failed', message: errorMessage(e) }));
  }, [loadUser]);

  const signedIn = (tokens: Tokens) => {
    setTokens(tokens);
    void loadUser();
  };

  const signOut = () => {
    clearTokens();
    setPhase({ name: 'signin' });
  };

  const user = phase.name === 'ready' ? phase.user : undefined;
  const canUpload = !!(config?.uploads && user?.canReview);

  return (
    <div class="shell">
      <header class="topbar">
        <div class="brand">
          <span class="logo" aria-hidden="true" />
          <div>
            <div class="brand-title">{config?.title ?? 'Image classification'}</div>
            <div class="brand-sub">Image classification console</div>
          </div>
        </div>
        {user && config && (
          <nav class="tabs" aria-label="Sections">
            <a href={href({ view: 'overview' })} data-testid="nav-overview" aria-current={route.view === 'overview' ? 'page' : undefined}>Overview</a>
            <a href={href({ view: 'reviews' })} data-testid="nav-reviews" aria-current={route.view === 'reviews' ? 'page' : undefined}>Review queue</a>
            {canUpload && (
              <a href={href({ view: 'upload' })} data-testid="nav-upload" aria-current={route.view === 'upload' ? 'page' : undefined}>Upload</a>
            )}
          </nav>
        )}
        {user && (
          <div class="who">
            <span class="who-name" title={user.groups.length ? `Groups: ${user.groups.join(', ')}` : 'No groups'}>
              <span class="avatar" aria-hidden="true">{user.username.slice(0, 1).toUpperCase()}</span>
              <span data-testid="user-name">{user.username}</span>
              <span class={`role ${user.canReview ? 'role-reviewer' : ''}`}>{user.canReview ? 'reviewer' : 'viewer'}</span>
            </span>
            <button type="button" class="btn btn-ghost" data-testid="signout" onClick={signOut}>Sign out</button>
          </div>
        )}
      </header>
      <main class="content">
        {phase.name === 'loading' && <p class="muted center" role="status">Loading…</p>}
        {phase.name === 'failed' && (
          <div class="card narrow">
            <h1>Console unavailable</h1>
            <p class="error" role="alert">{phase.message}</p>
            <button type="button" class="btn" onClick={() => location.reload()}>Reload</button>
          </div>
        )}
        {phase.name === 'signin' && config && <SignIn config={config} notice={phase.notice} onSignedIn={signedIn} />}
        {user && config && route.view === 'overview' && <Overview />}
        {user && config && route.view === 'reviews' && <Reviews config={config} user={user} reviewId={route.reviewId} />}
        {user && config && route.view === 'upload' && (canUpload
          ? <Upload config={config} />
          : <div class="card narrow"><p>Uploads are {config.uploads ? 'for reviewers only' : 'not enabled for this pipeline'}.</p></div>)}
      </main>
    </div>
  );
}
