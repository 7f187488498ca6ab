import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConsoleConfig } from '../../src/review/console-api';
import { setNewPassword, signIn, type AuthAnswer } from './cognito';
import { errorMessage, type Tokens } from './session';

interface Props {
  readonly config: ConsoleConfig;
  readonly notice?: string;
  readonly onSignedIn: (tokens: Tokens) => void;
}

export function SignIn({ config, notice, onSignedIn }: Props) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [newPassword, setNewPass] = useState('');
  const [challenge, setChallenge] = useState<{ session: string; username: string }>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const newPasswordRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (challenge) newPasswordRef.current?.focus();
  }, [challenge]);

  const handle = (a: AuthAnswer) => {
    if (a.kind === 'tokens') {
      setPassword('');
      setNewPass('');
      onSignedIn(a.tokens);
    } else {
      setPassword('');
      setChallenge({ session: a.session, username: a.username });
    }
  };

  const run = async (fn: () => Promise<AuthAnswer>) => {
    setBusy(true);
    setError(undefined);
    try {
      handle(await fn());
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const submitSignIn = (e: Event) => {
    e.preventDefault();
    if (!username || !password) return setError('Enter your username and password.');
    void run(() => signIn(config, username.trim(), password));
  };

  const submitNewPassword = (e: Event) => {
    e.preventDefault();
    if (!challenge) return;
    if (!newPassword) return setError('Choose a new password.');
    void run(() => setNewPassword(config, challenge.username, challenge.session, newPassword));
  };

  const errorBox = error && <p class="error" role="alert" data-testid="signin-error">{error}</p>;

  if (challenge) {
    return (
      <div class="card signin">
        <h1>Choose a new password</h1>
        <p class="muted">Your account <strong>{challenge.username}</strong> was created by an administrator. Set your own password to continue.</p>
        <form data-testid="newpassword-form" onSubmit={submitNewPassword} noValidate>
          <input type="text" name="username" autocomplete="username" value={challenge.username} readOnly hidden />
          <label for="newpassword-input">New password</label>
          <input id="newpassword-input" data-testid="newpassword-input" type="password" autocomplete="new-password"
            ref={newPasswordRef} value={newPassword} onInput={(e) => setNewPass(e.currentTarget.value)} required />
          {errorBox}
          <div class="row">
            <button type="submit" class="btn btn-primary" data-testid="newpassword-submit" disabled={busy}>
              {busy ? 'Saving…' : 'Set password and sign in'}
            </button>
            <button type="button" class="btn btn-ghost" onClick={() => { setChallenge(undefined); setError(undefined); setNewPass(''); }}>
              Cancel
            </button>
          </div>
        </form>
      </div>
    );
  }

  return (
    <div class="card signin">
      <h1>Sign in</h1>
      <p class="muted">{config.title}</p>
      {notice && !error && <p class="notice" role="status">{notice}</p>}
      <form data-testid="signin-form" onSubmit={submitSignIn} noValidate>
        <label for="signin-username">Username</label>
        <input id="signin-username" data-testid="signin-username" type="text" autocomplete="username" autocapitalize="none"
          spellcheck={false} value={username} onInput={(e) => setUsername(e.currentTarget.value)} required autoFocus />
        <label for="signin-password">Password</label>
        <input id="signin-password" data-testid="signin-password" type="password" autocomplete="current-password"
          value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        {errorBox}
        <button type="submit" class="btn btn-primary btn-block" data-testid="signin-submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
