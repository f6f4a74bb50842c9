// The login page: a token (from `conductor token create`) is exchanged for a session cookie.
import { useState } from 'preact/hooks';
import { messageOf, post } from '../api';
import type { Session } from '../types';

export function Login({ onLogin }: { onLogin: (s: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await post<Session>('/session', { token: token.trim() });
      if (session) onLogin(session);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <h1>conductor</h1>
      <form onSubmit={submit}>
        <label for="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy || token.trim() === ''}>
          Log in
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <p class="muted">
          Create one with <code>conductor token create NAME --scope read|operate|admin</code>.
        </p>
      </form>
    </main>
  );
}
