import { useEffect, useId, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { api, ApiError, onUnauthorized, type Session } from './api';
import { ErrorBoundary } from './components/ErrorBoundary';
import { Field, Loading, ProblemMessage, useTitle } from './components/ui';
import { useFlagIndex } from './flagIndex';
import { useHotkey } from './hooks';
import { NAV } from './nav';
import { Link, matchPath, navigate, useLocation } from './router';
import { ROUTES } from './routes';

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [ended, setEnded] = useState(false);
  const [bootError, setBootError] = useState<ApiError>();

  useEffect(() => {
    api
      .get<Session>('/api/auth/session')
      .then(setSession)
      .catch((err: ApiError) => {
        if (err.status === 401) setSession(null);
        else setBootError(err);
      });
    return onUnauthorized(() => {
      setSession(null);
      setEnded(true);
    });
  }, []);

  if (bootError) {
    return (
      <div className="signin">
        <ProblemMessage error={bootError} />
        <button type="button" onClick={() => window.location.reload()}>
          Try again
        </button>
      </div>
    );
  }
  if (session === undefined) return <Loading label="Starting Switchyard…" />;
  if (session === null)
    return (
      <SignIn
        ended={ended}
        onSignedIn={(s) => {
          setEnded(false);
          setSession(s);
        }}
      />
    );
  return <Shell session={session} onSignedOut={() => setSession(null)} />;
}

function SignIn({ onSignedIn, ended }: { onSignedIn: (s: Session) => void; ended: boolean }) {
  useTitle('Sign in');
  const [token, setToken] = useState('');
  const [error, setError] = useState<ApiError>();
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!token.trim()) {
      setFieldError('Paste an admin token.');
      return;
    }
    setPending(true);
    setError(undefined);
    setFieldError(null);
    try {
      const s = await api.post<Session>('/api/auth/session', { token: token.trim() });
      setToken('');
      onSignedIn(s);
    } catch (err) {
      const apiErr = err as ApiError;
      if (apiErr.status === 401 || apiErr.status === 403) setFieldError(apiErr.detail);
      else setError(apiErr);
    } finally {
      setPending(false);
    }
  };
  return (
    <main className="signin" id="main">
      <div className="signin-card">
        <h1>
          <span className="logo" aria-hidden="true" /> Switchyard
        </h1>
        {ended ? (
          <p className="notice" role="status">
            Your session has ended. Sign in again to continue.
          </p>
        ) : null}
        <form onSubmit={submit} noValidate>
          <Field
            label="Admin token"
            error={fieldError}
            help={
              <>
                The first start writes one to <code>.switchyard/admin-token</code> (or use <code>SWITCHYARD_ADMIN_TOKEN</code>). It is exchanged for a
                session cookie and never stored in the browser.
              </>
            }
          >
            {(p) => (
              <input
                {...p}
                type="password"
                name="token"
                autoComplete="off"
                spellCheck={false}
                autoFocus
                value={token}
                onChange={(e) => {
                  setToken(e.target.value);
                  setFieldError(null);
                }}
              />
            )}
          </Field>
          <ProblemMessage error={error} />
          <button type="submit" disabled={pending}>
            {pending ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}

function Shell({ session, onSignedOut }: { session: Session; onSignedOut: () => void }) {
  const { pathname } = useLocation();
  const searchRef = useRef<HTMLInputElement>(null);
  useHotkey('/', (e) => {
    e.preventDefault();
    searchRef.current?.focus();
  });

  useEffect(() => {
    if (pathname === '/' || pathname === '/index.html') navigate('/flags', { replace: true });
  }, [pathname]);

  let page = null;
  for (const r of ROUTES) {
    const params = matchPath(r.path, pathname);
    if (params) {
      page = r.render(params);
      break;
    }
  }

  const signOut = async () => {
    try {
      await api.del('/api/auth/session');
    } finally {
      onSignedOut();
    }
  };

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <div className="shell">
        <aside className="sidebar">
          <Link to="/flags" className="brand">
            <span className="logo" aria-hidden="true" /> Switchyard
          </Link>
          <nav aria-label="Main">
            {NAV.map((g) => (
              <div key={g.label} className="nav-group">
                <h2 className="nav-heading">{g.label}</h2>
                <ul>
                  {g.items.map((item) => {
                    const current = pathname === item.match || pathname.startsWith(item.match + '/');
                    return (
                      <li key={item.to}>
                        <Link to={item.to} className="nav-link" aria-current={current ? 'page' : undefined}>
                          {item.label}
                        </Link>
                      </li>
                    );
                  })}
                </ul>
              </div>
            ))}
          </nav>
          <div className="sidebar-footer">
            <p className="muted small">
              Signed in as <strong>{session.name}</strong>
            </p>
            <button type="button" className="button-secondary small" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        </aside>
        <div className="content">
          <header className="topbar">
            <Search inputRef={searchRef} />
            <span className="muted small hint">
              Press <kbd>/</kbd> to search
            </span>
            <a className="small" href="/docs/openapi.json" target="_blank" rel="noreferrer">
              API docs
            </a>
          </header>
          <main id="main" tabIndex={-1}>
            <ErrorBoundary resetKey={pathname}>{page ?? <NotFound />}</ErrorBoundary>
          </main>
        </div>
      </div>
    </>
  );
}

function NotFound() {
  useTitle('Not found');
  return (
    <div className="page">
      <h1>Page not found</h1>
      <p>
        There is no page at <code>{window.location.pathname}</code>. <Link to="/flags">Go to the flags.</Link>
      </p>
    </div>
  );
}

/** Global search: flags by name (and description), from anywhere; arrows + Enter to open. */
function Search({ inputRef }: { inputRef: React.RefObject<HTMLInputElement | null> }) {
  const flags = useFlagIndex();
  const [q, setQ] = useState('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const id = useId();
  const results = useMemo(() => {
    const needle = q.trim().toLowerCase();
    if (!needle || !flags) return [];
    const scored = flags
      .map((f) => {
        const name = f.name.toLowerCase();
        const score = name === needle ? 0 : name.startsWith(needle) ? 1 : name.includes(needle) ? 2 : (f.description ?? '').toLowerCase().includes(needle) ? 3 : -1;
        return { f, score };
      })
      .filter((x) => x.score >= 0)
      .sort((a, b) => a.score - b.score || a.f.name.localeCompare(b.f.name));
    return scored.slice(0, 8).map((x) => x.f);
  }, [q, flags]);

  const go = (name: string) => {
    setQ('');
    setOpen(false);
    inputRef.current?.blur();
    navigate(`/flags/${encodeURIComponent(name)}`);
  };
  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setOpen(true);
      setActive((a) => Math.min(a + 1, results.length - 1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, 0));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      if (results[active]) go(results[active].name);
      else if (q.trim()) {
        navigate(`/flags?q=${encodeURIComponent(q.trim())}`);
        setOpen(false);
      }
    } else if (e.key === 'Escape') {
      setQ('');
      setOpen(false);
    }
  };
  const showList = open && q.trim() !== '';
  return (
    <div className="search" role="search">
      <label htmlFor={`${id}-input`} className="visually-hidden">
        Search flags
      </label>
      <input
        ref={inputRef}
        id={`${id}-input`}
        type="search"
        role="combobox"
        aria-expanded={showList}
        aria-controls={`${id}-list`}
        aria-autocomplete="list"
        aria-activedescendant={showList && results[active] ? `${id}-opt-${active}` : undefined}
        placeholder="Search flags by name…"
        value={q}
        autoComplete="off"
        onChange={(e) => {
          setQ(e.target.value);
          setOpen(true);
          setActive(0);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={onKey}
      />
      {showList ? (
        <ul className="search-results" role="listbox" id={`${id}-list`} aria-label="Matching flags">
          {results.length === 0 ? (
            <li className="muted" role="option" aria-selected={false} aria-disabled="true">
              {flags ? 'No flag matches.' : 'Loading flags…'}
            </li>
          ) : (
            results.map((f, i) => (
              <li
                key={f.name}
                id={`${id}-opt-${i}`}
                role="option"
                aria-selected={i === active}
                className={i === active ? 'active' : undefined}
                onMouseDown={(e) => {
                  e.preventDefault();
                  go(f.name);
                }}
                onMouseEnter={() => setActive(i)}
              >
                <span className="mono">{f.name}</span>
                <span className="muted small">
                  {f.project} · {f.type}
                </span>
              </li>
            ))
          )}
        </ul>
      ) : null}
    </div>
  );
}
