/**
 * The standalone "My access tokens" page: reads config.json next to it, signs the
 * person in, and hosts <patgate-tokens>.
 *
 * - mode "local": a picker of the local stack's demo users; the session comes from
 *   `POST {apiBase}/local/session` (development only). `?user=ID` signs in as any
 *   user of the local table directly (used by the browser tests and measurements).
 * - mode "cognito": the hosted UI, authorization code flow with PKCE (oauth.ts).
 *   The verifier and state survive the round trip to the hosted UI in
 *   sessionStorage and are removed as soon as the page is back; the ID token is
 *   kept in memory only.
 *
 * A session that ends while a token is being created keeps what was typed: the
 * element hands it over (`patgate-tokens:unauthenticated`, detail.draft) and gets it
 * back after sign-in (`draft`). It waits in memory, or, across the round trip to the
 * hosted UI, beside the PKCE state (removed as soon as the page is back).
 */
import { html, nothing, render, type TemplateResult } from "lit";
import type { CreateDraft } from "./create-rules.js";
import "./patgate-tokens.js";
import {
  OAuthError,
  authorizeUrl,
  challengeS256,
  cognitoSettings,
  parseCallback,
  parseTokenResponse,
  randomState,
  randomVerifier,
  tokenRequest,
  type CognitoSettings,
} from "./oauth.js";

interface PageConfig {
  apiBase: string;
  mode: "local" | "cognito";
  raw: Record<string, unknown>;
}

const DEMO_USERS: Array<[string, string]> = [
  ["demo-viewer", "Viewer"],
  ["demo-user", "User"],
  ["demo-manager", "Manager"],
  ["demo-admin", "Admin"],
];
const PKCE_KEY = "patgate.signin";

const app = document.getElementById("app") as HTMLElement;
app.replaceChildren(); // drop the static "Loading…": Lit renders after existing children
const account = document.getElementById("account") as HTMLElement;

/** The signed-in person: the session value and who it is (in memory only). */
let session: { value: string; label: string } | null = null;
let busy = false;
let message = "";
/** What was typed in the create dialog when the session ended, until the next sign-in. */
let pendingDraft: CreateDraft | null = null;

async function readConfig(): Promise<PageConfig> {
  // Matches the <link rel="preload"> in index.html, which starts this fetch early.
  const response = await fetch("config.json");
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const raw = (await response.json()) as Record<string, unknown>;
  if (typeof raw.apiBase !== "string" || !/^https?:\/\//.test(raw.apiBase)) {
    throw new Error("config.json: apiBase must be the token API's URL");
  }
  if (raw.mode !== "local" && raw.mode !== "cognito") throw new Error('config.json: mode must be "local" or "cognito"');
  return { apiBase: raw.apiBase.replace(/\/+$/, ""), mode: raw.mode, raw };
}

function show(main: TemplateResult, header: TemplateResult | typeof nothing = nothing): void {
  render(main, app);
  render(header, account);
}

function tokensView(config: PageConfig): TemplateResult {
  const draft = pendingDraft;
  pendingDraft = null;
  return html`<patgate-tokens
    api-base=${config.apiBase}
    .draft=${draft}
    .getSession=${() => session?.value ?? null}
    @patgate-tokens:unauthenticated=${(event: CustomEvent<{ draft?: CreateDraft | null }>) => {
      pendingDraft = event.detail?.draft ?? null;
      const kept = pendingDraft ? " What you typed for the new token is kept." : "";
      signedOut(config, `Your session has ended. Please sign in again.${kept}`);
    }}
  ></patgate-tokens>`;
}

function accountBar(config: PageConfig): TemplateResult {
  return html`<span>Signed in as <strong>${session?.label}</strong></span>
    <button type="button" class="small" @click=${() => signedOut(config, "You are signed out.", true)}>Sign out</button>`;
}

function signedIn(config: PageConfig, value: string, label: string): void {
  session = { value, label };
  message = "";
  show(tokensView(config), accountBar(config));
  document.getElementById("main")?.focus();
}

/** Back to sign-in; signing out on purpose (`dropDraft`) forgets a kept draft. */
function signedOut(config: PageConfig, note: string, dropDraft = false): void {
  session = null;
  if (dropDraft) pendingDraft = null;
  message = note;
  if (config.mode === "local") localSignIn(config);
  else cognitoSignIn(config);
  document.getElementById("signin-heading")?.focus();
}

function messageBlock(): TemplateResult | typeof nothing {
  return message ? html`<p class="notice" role="status">${message}</p>` : nothing;
}

// ---------------------------------------------------------------- local mode

function localSignIn(config: PageConfig): void {
  const submit = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    const form = event.target as HTMLFormElement;
    const userId = new FormData(form).get("user");
    if (typeof userId !== "string") return;
    await localSession(config, userId);
  };
  show(html`
    <section class="card signin" aria-labelledby="signin-heading">
      <h2 id="signin-heading" tabindex="-1">Sign in</h2>
      <p>
        Local development: choose a demo user of the local stack. The session stays in this tab's memory, so reloading
        the page signs you out.
      </p>
      ${messageBlock()}
      <form @submit=${submit}>
        <fieldset>
          <legend>Demo user</legend>
          ${DEMO_USERS.map(
            ([id, role], i) => html`<label class="choice">
              <input type="radio" name="user" value=${id} ?checked=${i === 1} />
              <span><strong>${id}</strong> <span class="muted">(${role})</span></span>
            </label>`,
          )}
        </fieldset>
        <button type="submit" class="primary">Sign in</button>
      </form>
    </section>
  `);
}

async function localSession(config: PageConfig, userId: string): Promise<void> {
  busy = true;
  try {
    const response = await fetch(`${config.apiBase}/local/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ userId }),
      credentials: "omit",
      cache: "no-store",
    });
    const body = (await response.json().catch(() => null)) as {
      session?: unknown;
      error?: { message?: unknown };
    } | null;
    if (response.ok && typeof body?.session === "string") {
      signedIn(config, body.session, userId);
      return;
    }
    // The stack's own words when it has them (an unknown user: it names the demo users).
    const said = typeof body?.error?.message === "string" ? body.error.message : "";
    message = said
      ? `Sign-in failed: ${said.endsWith(".") ? said : `${said}.`}`
      : `Sign-in failed: the local stack answered ${response.status}.`;
    localSignIn(config);
  } catch {
    message = `Sign-in failed: the local stack could not be reached. Is it running at ${config.apiBase}?`;
    localSignIn(config);
  } finally {
    busy = false;
  }
}

// ---------------------------------------------------------------- Cognito mode

function cognitoSignIn(config: PageConfig): void {
  let settings: CognitoSettings;
  try {
    settings = cognitoSettings(config.raw, location.href);
  } catch (error) {
    failed((error as Error).message);
    return;
  }
  const start = async () => {
    const verifier = randomVerifier();
    const state = randomState();
    const challenge = await challengeS256(verifier);
    sessionStorage.setItem(PKCE_KEY, JSON.stringify({ state, verifier, draft: pendingDraft }));
    location.assign(authorizeUrl(settings, state, challenge));
  };
  show(html`
    <section class="card signin" aria-labelledby="signin-heading">
      <h2 id="signin-heading" tabindex="-1">Sign in</h2>
      <p>Sign in to see and manage your access tokens.</p>
      ${messageBlock()}
      <button type="button" class="primary" @click=${start}>Sign in</button>
    </section>
  `);
}

/** Back from the hosted UI: check the state, exchange the code, keep the ID token in memory. */
async function cognitoCallback(config: PageConfig): Promise<boolean> {
  const url = location.href;
  const stored = sessionStorage.getItem(PKCE_KEY);
  sessionStorage.removeItem(PKCE_KEY);
  let pending: { state?: string; verifier?: string; draft?: CreateDraft | null } = {};
  try {
    pending = stored ? (JSON.parse(stored) as typeof pending) : {};
  } catch {
    pending = {};
  }
  let code: string | null;
  try {
    code = parseCallback(url, pending.state);
  } catch (error) {
    history.replaceState(null, "", location.pathname);
    message = (error as Error).message;
    return false;
  }
  if (code === null) return false;
  pendingDraft = pending.draft ?? null;
  history.replaceState(null, "", location.pathname); // the code leaves the address bar and history
  const settings = cognitoSettings(config.raw, url);
  try {
    const request = tokenRequest(settings, code, pending.verifier ?? "");
    const response = await fetch(request.url, request.init);
    const body: unknown = await response.json().catch(() => null);
    const tokens = parseTokenResponse(response.status, body);
    signedIn(config, tokens.idToken, "you");
    return true;
  } catch (error) {
    message = error instanceof OAuthError ? error.message : "Sign-in failed: the sign-in service could not be reached.";
    return false;
  }
}

// ---------------------------------------------------------------- start

function failed(text: string): void {
  show(html`<div class="card notice error" role="alert">
    <h2>This page is not set up</h2>
    <p>${text}</p>
  </div>`);
}

async function main(): Promise<void> {
  let config: PageConfig;
  try {
    config = await readConfig();
  } catch (error) {
    failed(`Its settings could not be read (${(error as Error).message}).`);
    return;
  }
  if (config.mode === "local") {
    const user = new URLSearchParams(location.search).get("user");
    if (user && /^[A-Za-z0-9._@-]{1,128}$/.test(user)) {
      history.replaceState(null, "", location.pathname);
      await localSession(config, user);
      return;
    }
    localSignIn(config);
    return;
  }
  if (!(await cognitoCallback(config))) cognitoSignIn(config);
}

void main();
