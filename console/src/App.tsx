import { useCallback, useEffect, useMemo, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { authClient, clientWithToken, errorText, loadConfig, must, type ConsoleConfig, type Db } from "./api.ts";
import { SessionContext, useSession, type Session } from "./session.tsx";
import { CustomersScreen } from "./screens/Customers.tsx";
import { TagsScreen } from "./screens/Tags.tsx";
import { SegmentsScreen } from "./screens/Segments.tsx";
import { BulkMessageScreen } from "./screens/BulkMessage.tsx";
import { AlertsScreen } from "./screens/Alerts.tsx";
import { Form } from "./components/ui.tsx";

interface LocalLogin {
  id: string;
  email: string;
  full_name: string | null;
  roles: string[];
  access_token: string;
}

const SCREENS = [
  { id: "customers", label: "Customers", role: "admin" },
  { id: "segments", label: "Segments", role: "admin" },
  { id: "tags", label: "Tags", role: "admin" },
  { id: "bulk", label: "Bulk message", role: "communications" },
  { id: "alerts", label: "Alerts", role: "admin" },
] as const;
type ScreenId = (typeof SCREENS)[number]["id"];

function screenFromHash(): ScreenId {
  const h = location.hash.replace(/^#\/?/, "");
  return (SCREENS.find((s) => s.id === h)?.id ?? "customers") as ScreenId;
}

async function rolesOf(db: Db, userId: string): Promise<string[]> {
  const rows = must(await db.from("user_roles").select("role").eq("user_id", userId));
  return rows.map((r) => r.role);
}

function decodeSub(token: string): string {
  const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  return String(payload.sub ?? "");
}

export function App() {
  const [config, setConfig] = useState<ConsoleConfig | null>(null);
  const [configError, setConfigError] = useState<string | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const queryClient = useQueryClient();

  useEffect(() => {
    loadConfig().then(setConfig, (e) => setConfigError(errorText(e)));
  }, []);

  const signOut = useCallback(() => {
    // a client made with accessToken (local sign-in) has no auth API; a Supabase Auth session ends here
    if (session && !session.config.localSignIn) session.db.auth.signOut().catch(() => {});
    sessionStorage.removeItem("console-local-token");
    queryClient.clear();
    setSession(null);
  }, [session, queryClient]);

  const begin = useCallback(async (db: Db, userId: string, email: string, cfg: ConsoleConfig) => {
    const roles = await rolesOf(db, userId);
    setSession({ db, config: cfg, userId, email, roles, signOut: () => {} });
  }, []);

  // Resume a local token kept for this tab, or a Supabase Auth session.
  useEffect(() => {
    if (!config) return;
    const saved = sessionStorage.getItem("console-local-token");
    if (config.localSignIn && saved) {
      const { token, email } = JSON.parse(saved);
      begin(clientWithToken(config, token), decodeSub(token), email, config).catch(() => sessionStorage.removeItem("console-local-token"));
    } else if (!config.localSignIn) {
      const db = authClient(config);
      db.auth.getSession().then(({ data }) => {
        if (data.session) begin(db, data.session.user.id, data.session.user.email ?? "", config).catch(() => {});
      });
    }
  }, [config, begin]);

  const value = useMemo(() => (session ? { ...session, signOut } : null), [session, signOut]);

  if (configError) return <main className="center"><p role="alert" className="error">The console could not load its configuration: {configError}</p></main>;
  if (!config) return <main className="center"><p aria-busy="true">Loading…</p></main>;
  if (!value) return <SignIn config={config} onSignedIn={begin} />;
  return (
    <SessionContext.Provider value={value}>
      <Shell />
    </SessionContext.Provider>
  );
}

function SignIn(props: { config: ConsoleConfig; onSignedIn: (db: Db, userId: string, email: string, cfg: ConsoleConfig) => Promise<void> }) {
  const { config } = props;
  const [logins, setLogins] = useState<LocalLogin[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [otpSent, setOtpSent] = useState(false);
  const [otp, setOtp] = useState("");
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!config.localSignIn) return;
    fetch("/local-logins.json")
      .then(async (r) => (r.ok ? r.json() : Promise.reject(new Error(`${r.status} ${await r.text()}`))))
      .then(setLogins, (e) => setError(`Could not list the local logins: ${errorText(e)}`));
  }, [config.localSignIn]);

  async function pick(login: LocalLogin) {
    setError(null);
    try {
      const db = clientWithToken(config, login.access_token);
      await props.onSignedIn(db, login.id, login.email, config);
      sessionStorage.setItem("console-local-token", JSON.stringify({ token: login.access_token, email: login.email }));
    } catch (e) {
      setError(errorText(e));
    }
  }

  async function withAuth(action: (db: Db) => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action(authClient(config));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  const afterAuth = async (db: Db) => {
    const { data, error: err } = await db.auth.getSession();
    if (err || !data.session) throw err ?? new Error("no session");
    await props.onSignedIn(db, data.session.user.id, data.session.user.email ?? email, config);
  };

  return (
    <main className="center sign-in">
      <h1>Rental CRM console</h1>
      {config.localSignIn ? (
        <section aria-labelledby="local-h">
          <h2 id="local-h">Sign in locally</h2>
          <p className="muted">Local stack: pick a seeded login (tokens minted by the local stack).</p>
          {!logins && !error && <p aria-busy="true">Loading logins…</p>}
          <ul className="logins">
            {logins?.map((l) => (
              <li key={l.id}>
                <button type="button" onClick={() => pick(l)}>
                  <strong>{l.full_name ?? l.email}</strong> <span>{l.email}</span>{" "}
                  <span className="muted">{l.roles.length ? l.roles.join(", ") : "customer"}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ) : (
        <section aria-labelledby="auth-h">
          <h2 id="auth-h">Sign in</h2>
          <Form
            onSubmit={() =>
              withAuth(async (db) => {
                const { error: err } = await db.auth.signInWithPassword({ email, password });
                if (err) throw err;
                await afterAuth(db);
              })
            }
          >
            <label>
              Email <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="username" />
            </label>
            <label>
              Password <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" />
            </label>
            <button type="submit" disabled={busy || !password}>Sign in with password</button>
          </Form>
          <Form
            onSubmit={() =>
              withAuth(async (db) => {
                if (!otpSent) {
                  const { error: err } = await db.auth.signInWithOtp({ email, options: { shouldCreateUser: false } });
                  if (err) throw err;
                  setOtpSent(true);
                } else {
                  const { error: err } = await db.auth.verifyOtp({ email, token: otp, type: "email" });
                  if (err) throw err;
                  await afterAuth(db);
                }
              })
            }
          >
            {otpSent && (
              <label>
                Code from the email <input inputMode="numeric" value={otp} onChange={(e) => setOtp(e.target.value)} required />
              </label>
            )}
            <button type="submit" disabled={busy || !email}>{otpSent ? "Verify code" : "Email me a sign-in code"}</button>
          </Form>
        </section>
      )}
      {error && <p role="alert" className="error">{error}</p>}
    </main>
  );
}

function Shell() {
  const session = useSession();
  const [screen, setScreen] = useState<ScreenId>(screenFromHash);
  useEffect(() => {
    const on = () => setScreen(screenFromHash());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);

  const isStaff = session.roles.includes("admin");
  if (!isStaff) {
    return (
      <main className="center">
        <h1>Rental CRM console</h1>
        <p role="alert" className="error" data-testid="not-staff">
          {session.email} has no admin role: this console is for the admin team.
        </p>
        <button type="button" onClick={session.signOut}>Sign out</button>
      </main>
    );
  }
  const visible = SCREENS.filter((s) => session.roles.includes(s.role));
  const current = visible.find((s) => s.id === screen)?.id ?? "customers";
  return (
    <div className="shell">
      <header className="topbar">
        <strong>Rental CRM</strong>
        <nav aria-label="Screens">
          {visible.map((s) => (
            <a key={s.id} href={`#/${s.id}`} aria-current={current === s.id ? "page" : undefined}>
              {s.label}
            </a>
          ))}
        </nav>
        <span className="who">
          {session.email} <span className="muted">({session.roles.join(", ")})</span>{" "}
          <button type="button" onClick={session.signOut}>Sign out</button>
        </span>
      </header>
      <main>
        {current === "customers" && <CustomersScreen />}
        {current === "segments" && <SegmentsScreen />}
        {current === "tags" && <TagsScreen />}
        {current === "bulk" && <BulkMessageScreen />}
        {current === "alerts" && <AlertsScreen />}
      </main>
    </div>
  );
}

