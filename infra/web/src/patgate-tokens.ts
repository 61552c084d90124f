/**
 * <patgate-tokens api-base="https://api.example.com/v1">: "My access tokens".
 *
 * The host page owns sign-in and sets `getSession`, an async function returning
 * the value of the Authorization header for the token API. The element calls
 * that API only, stores nothing (no storage, no cookies) and keeps a new token's
 * plaintext only until the person dismisses it.
 *
 * Events (bubbling, composed):
 * - `patgate-tokens:rendered` once a list load is on screen (detail: {count});
 * - `patgate-tokens:unauthenticated` when the API refuses the session (401); detail
 *   {draft}: what was typed in the create dialog, if anything, for `draft` after sign-in.
 * The host element's `data-state` reads idle | signed-out | loading | ready | error.
 *
 * It holds the parts: the list's API state (TokenListController), the table, the
 * create dialog, the reveal panel, the row dialogs and the recently revoked list; it
 * places focus between them and speaks for them (one live region).
 */
import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import { TokenApi, type CreatedToken, type SessionProvider, type Token } from "./api.js";
import type { CreateDraft } from "./create-rules.js";
import { ANNOUNCE, RELOAD_REQUEST } from "./events.js";
import { INACTIVE_NOTICE, countLabel, describe, isSignedOut } from "./messages.js";
import "./revoked-tokens.js";
import { base, theme } from "./styles.js";
import * as time from "./time.js";
import { DIALOG_CLOSED, ROTATED } from "./token-dialogs.js";
import { CREATED, FORM_CLOSED } from "./token-form.js";
import { TokenListController } from "./token-list.js";
import { REVEAL_DONE, type Reveal } from "./token-reveal.js";
import { REVOKE_REQUEST, ROTATE_REQUEST } from "./token-table.js";

type Handler = (event: CustomEvent) => void;

const TICK_MS = 30_000;
const RESUMED =
  "Your session ended before the token was created. What you typed is kept: check it, then choose Create token.";

export class PatgateTokens extends LitElement {
  static styles = [theme, base];

  static properties = {
    apiBase: { type: String, attribute: "api-base" },
    getSession: { attribute: false },
    now: { state: true },
    reveal: { state: true },
    rowErrors: { state: true },
    announcement: { state: true },
  };

  /** The token API's base URL (attribute `api-base`). */
  declare apiBase: string;
  /** Returns the Authorization header value for the token API (set by the host). */
  declare getSession: SessionProvider | undefined;
  declare now: number;
  declare reveal: Reveal | null;
  declare rowErrors: Record<string, string>;
  declare announcement: string;

  private readonly personZone = time.isKnownZone(time.localZone()) ? time.localZone() : "UTC";
  private readonly list = new TokenListController(
    this,
    () => (this.apiBase && this.getSession ? this.api() : null),
    () => this.sessionEnded(),
  );
  private pendingDraft: CreateDraft | null = null;
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor() {
    super();
    this.apiBase = "";
    this.getSession = undefined;
    this.now = Date.now();
    this.reveal = null;
    this.rowErrors = {};
    this.announcement = "";
  }

  /** The list state: idle | signed-out | loading | ready | error (also `data-state`). */
  get status(): string {
    return this.list.status;
  }

  /** What was typed in the create dialog (null if nothing); set it to reopen the dialog on it after the next load. */
  get draft(): CreateDraft | null {
    return this.child("patgate-token-form")?.draft ?? this.pendingDraft;
  }

  set draft(draft: CreateDraft | null) {
    this.pendingDraft = draft;
  }

  connectedCallback(): void {
    super.connectedCallback();
    this.now = Date.now();
    this.ticker = setInterval(() => (this.now = Date.now()), TICK_MS);
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.ticker);
    this.reveal = null;
  }

  protected willUpdate(changed: PropertyValues<this>): void {
    if ((changed.has("apiBase") || changed.has("getSession")) && this.isConnected) {
      if (this.apiBase && this.getSession) void this.load();
      else this.list.signOut();
    }
  }

  protected updated(): void {
    if (this.dataset.state !== this.list.status) this.dataset.state = this.list.status;
  }

  private api(): TokenApi {
    return new TokenApi(this.apiBase, () => (this.getSession ? this.getSession() : null));
  }

  private child<K extends keyof HTMLElementTagNameMap>(tag: K): HTMLElementTagNameMap[K] | null {
    return this.renderRoot?.querySelector(tag) ?? null;
  }

  /** Loads (or reloads) the list. Public so hosts can refresh it. */
  async load(options: { announce?: boolean } = {}): Promise<void> {
    if (!(await this.list.load())) return;
    this.now = Date.now();
    await this.updateComplete;
    await this.child("patgate-token-table")?.updateComplete;
    this.dispatchEvent(
      new CustomEvent("patgate-tokens:rendered", { bubbles: true, composed: true, detail: { count: this.list.tokens.length } }),
    );
    if (options.announce) this.announce(`List refreshed: ${countLabel(this.list.tokens.length)}.`);
    else if (this.inactive) this.announce(INACTIVE_NOTICE);
    if (this.pendingDraft) {
      const draft = this.pendingDraft;
      this.pendingDraft = null;
      this.child("patgate-token-form")?.resume(draft, RESUMED);
    }
  }

  private sessionEnded(): void {
    const draft = this.child("patgate-token-form")?.draft ?? null;
    this.pendingDraft = draft;
    this.child("patgate-token-form")?.close();
    this.reveal = null;
    this.dispatchEvent(
      new CustomEvent("patgate-tokens:unauthenticated", { bubbles: true, composed: true, detail: { draft } }),
    );
  }

  /** The account can give a token nothing: not active, or no permissions (the server says so in `caller`). */
  private get inactive(): boolean {
    const caller = this.list.caller;
    return !!caller && (caller.active === false || (Array.isArray(caller.permissions) && caller.permissions.length === 0));
  }

  private announce(message: string): void {
    // A changed text is what screen readers announce; repeat messages differ by a space.
    this.announcement = message === this.announcement ? `${message}\u00a0` : message;
  }

  private async focusHeading(): Promise<void> {
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>("#list-heading")?.focus();
  }

  private async focusRow(id: string | null | undefined): Promise<void> {
    await this.updateComplete;
    const table = this.child("patgate-token-table");
    if (!id || !table || !(await table.focusRow(id))) await this.focusHeading();
  }

  // ------------------------------------------------------------------ create, reveal

  private async create(request: Parameters<TokenApi["create"]>[0]): Promise<CreatedToken> {
    try {
      return await this.api().create(request);
    } catch (error) {
      if (isSignedOut(error)) {
        this.list.signOut();
        this.sessionEnded();
      }
      throw error;
    }
  }

  private async showReveal(created: CreatedToken, rotated: boolean, replaces?: string): Promise<void> {
    const { token, ...view } = created;
    this.list.upsert(view, replaces);
    this.reveal = { ...view, token, rotated };
    this.announce(`Token “${created.name}” ${rotated ? "rotated" : "created"}. Copy it now: it will not be shown again.`);
    await this.updateComplete;
    await this.child("patgate-token-reveal")?.focusSecret();
  }

  private dismissReveal(): void {
    const id = this.reveal?.id;
    this.reveal = null; // the plaintext leaves the element's state and the DOM
    void this.focusRow(id);
    this.announce("The new token was removed from the page. It cannot be shown again.");
  }

  // ------------------------------------------------------------------ row actions

  private async revoke(token: Token): Promise<void> {
    this.rowErrors = { ...this.rowErrors, [token.id]: "" };
    if (!(await this.child("patgate-revoke-dialog")?.ask(token))) return;
    this.announce(`Token “${token.name}” revoked.`);
    const outcome = await this.list.revoke(token, (next) => void this.focusRow(next?.id));
    if (outcome === "revoked") void this.child("patgate-revoked-tokens")?.refresh();
    if (typeof outcome === "object") {
      const message = `“${token.name}” could not be revoked and still works. ${describe(outcome.failed)}`;
      this.rowErrors = { ...this.rowErrors, [token.id]: message };
      void this.focusRow(token.id);
      this.announce(message);
    }
  }

  private async rotate(id: string, request: Parameters<TokenApi["rotate"]>[1]): Promise<CreatedToken> {
    try {
      return await this.api().rotate(id, request);
    } catch (error) {
      if (isSignedOut(error)) {
        this.list.signOut();
        this.sessionEnded();
      }
      throw error;
    }
  }

  private async loadMore(): Promise<void> {
    const result = await this.list.loadMore();
    if (!result) return;
    if ("error" in result) {
      this.announce(result.error);
      return;
    }
    const { added } = result;
    // The button may be gone: focus goes on to the first token it brought.
    if (added.length > 0) await this.focusRow(added[0].id);
    else if (this.list.nextToken) this.renderRoot.querySelector<HTMLElement>("#load-more")?.focus();
    else await this.focusHeading();
    this.announce(`${countLabel(added.length)} more loaded.`);
  }

  private openCreate(): void {
    this.child("patgate-token-form")?.open();
  }

  // ------------------------------------------------------------------ rendering

  /** What the parts tell (events that bubble inside the shadow root and stop there). */
  private readonly handlers: Record<string, Handler> = {
    [ANNOUNCE]: (e) => this.announce(e.detail as string),
    [ROTATE_REQUEST]: (e) => void this.child("patgate-rotate-dialog")?.open(e.detail as Token),
    [REVOKE_REQUEST]: (e) => void this.revoke(e.detail as Token),
    [CREATED]: (e) => void this.showReveal(e.detail as CreatedToken, false),
    [ROTATED]: (e) => {
      const created = e.detail as CreatedToken;
      void this.showReveal(created, true, created.id);
      void this.load();
    },
    [REVEAL_DONE]: () => this.dismissReveal(),
    [RELOAD_REQUEST]: () => void this.load(),
    [FORM_CLOSED]: (e) => {
      // Closed without creating: back to the button that opened it (else focus is on the new secret).
      if (!(e.detail as { created: boolean }).created) this.renderRoot.querySelector<HTMLElement>("#create-new")?.focus();
    },
    [DIALOG_CLOSED]: (e) => {
      const { id, action } = e.detail as { id: string; action: "rotate" | "revoke" };
      void this.child("patgate-token-table")?.focusAction(id, action);
    },
  };

  protected createRenderRoot(): HTMLElement | DocumentFragment {
    const root = super.createRenderRoot();
    for (const [type, handler] of Object.entries(this.handlers)) root.addEventListener(type, handler as EventListener);
    return root;
  }

  render(): TemplateResult {
    const list = this.list;
    return html`
      <div class="stack">
        <p class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">${this.announcement}</p>
        ${list.status === "signed-out"
          ? html`<p class="card">Sign in to see and manage your access tokens.</p>`
          : html`<patgate-token-reveal .reveal=${this.reveal}></patgate-token-reveal>${this.renderList()}`}
        <patgate-token-form
          .limits=${list.limits}
          .permissions=${list.caller?.permissions ?? []}
          person-zone=${this.personZone}
          .now=${this.now}
          .submit=${(request: Parameters<TokenApi["create"]>[0]) => this.create(request)}
        ></patgate-token-form>
        <patgate-revoke-dialog></patgate-revoke-dialog>
        <patgate-rotate-dialog
          .maxGraceSeconds=${list.limits?.maxGraceSeconds}
          .rotate=${(id: string, request: Parameters<TokenApi["rotate"]>[1]) => this.rotate(id, request)}
        ></patgate-rotate-dialog>
      </div>
    `;
  }

  private renderList(): TemplateResult {
    const list = this.list;
    const cap = list.limits?.maxTokensPerUser;
    const ready = list.status === "ready";
    return html`
      <section class="card" aria-labelledby="list-heading" aria-busy=${list.status === "loading" || list.refreshing ? "true" : "false"}>
        <div class="section-head">
          <h2 id="list-heading" tabindex="-1">
            Your tokens${ready
              ? html` <span class="muted">(${list.tokens.length}${list.nextToken ? "+" : ""}${cap ? ` of ${cap}` : ""})</span>`
              : nothing}
          </h2>
          <div class="actions">
            <button type="button" class="small" ?hidden=${!ready} @click=${() => this.load({ announce: true })}>Refresh</button>
            ${this.inactive
              ? nothing
              : html`<button type="button" class="primary" id="create-new" @click=${this.openCreate}>Create new token</button>`}
          </div>
        </div>
        ${this.inactive ? html`<p class="notice" id="inactive-notice">${INACTIVE_NOTICE}</p>` : nothing}
        <div class="list-body">${this.renderListContent()}</div>
      </section>
    `;
  }

  private renderListContent(): TemplateResult {
    const list = this.list;
    if (list.status === "loading" || list.status === "idle") return html`<p class="muted">Loading your tokens…</p>`;
    if (list.status === "error") {
      return html`<div class="message error" role="alert">
        <p>${list.loadError}</p>
        <div class="actions"><button type="button" @click=${() => this.load()}>Try again</button></div>
      </div>`;
    }
    return html`
      ${list.loadError
        ? html`<div class="message error" role="alert">
            <p>${list.loadError} The list below may be out of date.</p>
            <div class="actions"><button type="button" @click=${() => this.load({ announce: true })}>Try again</button></div>
          </div>`
        : nothing}
      ${list.tokens.length === 0
        ? html`<div class="empty">
            <p><strong>You have no access tokens yet.</strong></p>
            <p class="muted">
              A token lets scripts and tools call the API as you, with your permissions, until the date you choose.
            </p>
            ${this.inactive
              ? nothing
              : html`<button type="button" @click=${this.openCreate}>Create your first token</button>`}
          </div>`
        : html`<patgate-token-table
            label="Your tokens"
            .tokens=${list.tokens}
            .now=${this.now}
            zone=${this.personZone}
            ?can-rotate=${list.extended && !this.inactive}
            .rowErrors=${this.rowErrors}
          ></patgate-token-table>`}
      ${list.nextToken
        ? html`<div class="actions">
            <button type="button" id="load-more" aria-disabled=${list.refreshing ? "true" : "false"} @click=${this.loadMore}>
              Load more tokens
            </button>
          </div>`
        : nothing}
      ${list.extended
        ? html`<patgate-revoked-tokens
            .now=${this.now}
            .list=${() => this.api().list({ status: "revoked" })}
          ></patgate-revoked-tokens>`
        : nothing}
    `;
  }
}

if (!customElements.get("patgate-tokens")) customElements.define("patgate-tokens", PatgateTokens);

declare global {
  interface HTMLElementTagNameMap {
    "patgate-tokens": PatgateTokens;
  }
}
