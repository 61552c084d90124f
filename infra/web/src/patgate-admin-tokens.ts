/**
 * <patgate-admin-tokens api-base="https://api.example.com/v1">: the organisation's
 * access tokens, for people whose roles grant `patgate:admin`.
 *
 * The host page owns sign-in and sets `getSession`, as for <patgate-tokens>. The
 * element calls the `/org/*` routes only (inventory, summary, an administrator's
 * revoke, service accounts and their tokens), stores nothing, and keeps a service
 * account token's plaintext only until the person dismisses it.
 *
 * Events (bubbling, composed): `patgate-admin-tokens:rendered` once an inventory load
 * is on screen (detail {count}); `patgate-admin-tokens:unauthenticated` when the API
 * refuses the session (401). `data-state`: idle | signed-out | loading | ready |
 * error | forbidden (the API answered 403: the caller is no administrator).
 *
 * It holds the parts: the inventory's API state (TokenListController over the
 * inventory as a TokenSource), its filters, counts, the token table (with an Owner
 * column), the administrator's revoke dialog, service accounts, and the create dialog
 * and reveal panel of <patgate-tokens> for service account tokens.
 */
import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import { AdminApi, type InventoryFilters, type InventorySummary, type ServiceAccount } from "./admin-api.js";
import "./admin-revoke-dialog.js";
import { ApiError, type CreateRequest, type CreatedToken, type SessionProvider, type Token } from "./api.js";
import { ANNOUNCE } from "./events.js";
import { FILTERS_CHANGED } from "./inventory-filters.js";
import { summaryList, summaryStyles } from "./inventory-summary.js";
import { countLabel, describe, isSignedOut } from "./messages.js";
import { SERVICE_TOKEN_REQUEST, SESSION_ENDED } from "./service-accounts.js";
import { base, theme } from "./styles.js";
import * as time from "./time.js";
import { DIALOG_CLOSED } from "./token-dialogs.js";
import { CREATED } from "./token-form.js";
import { TokenListController } from "./token-list.js";
import { REVEAL_DONE, type Reveal } from "./token-reveal.js";
import { REVOKE_REQUEST } from "./token-table.js";
import { TOKEN_FILTERS } from "./token-view.js";
import "./inventory-filters.js";
import "./service-accounts.js";
import "./token-form.js";
import "./token-reveal.js";
import "./token-table.js";

type Handler = (event: CustomEvent) => void;

/** The client-side narrowing the table offers over the page on screen: drift only (the rest is the server's). */
const TABLE_FILTERS = TOKEN_FILTERS.filter((f) => f.id === "lost");

export const FORBIDDEN_NOTICE =
  "This page is for administrators: your roles do not grant the permission patgate:admin, which managing the " +
  "organisation's tokens needs. Your own tokens are under My access tokens.";

export class PatgateAdminTokens extends LitElement {
  static styles = [theme, base, summaryStyles];

  static properties = {
    apiBase: { type: String, attribute: "api-base" },
    getSession: { attribute: false },
    pageSize: { type: Number, attribute: "page-size" },
    now: { state: true },
    filters: { state: true },
    summary: { state: true },
    summaryError: { state: true },
    reveal: { state: true },
    account: { state: true },
    rowErrors: { state: true },
    announcement: { state: true },
  };

  declare apiBase: string;
  declare getSession: SessionProvider | undefined;
  /** Tokens per inventory page (1–100; the API's default, 50, when unset). */
  declare pageSize: number | undefined;
  declare now: number;
  declare filters: InventoryFilters;
  declare summary: InventorySummary | null;
  declare summaryError: string;
  declare reveal: Reveal | null;
  /** The service account whose token the create dialog makes. */
  declare account: ServiceAccount | null;
  declare rowErrors: Record<string, string>;
  declare announcement: string;

  private readonly personZone = time.isKnownZone(time.localZone()) ? time.localZone() : "UTC";
  private readonly list = new TokenListController(
    this,
    () => (this.apiBase && this.getSession ? this.api().source(this.filters, this.pageSize) : null),
    () => this.sessionEnded(),
    "The inventory",
  );

  constructor() {
    super();
    this.apiBase = "";
    this.getSession = undefined;
    this.pageSize = undefined;
    this.now = Date.now();
    this.filters = {};
    this.summary = null;
    this.summaryError = "";
    this.reveal = null;
    this.account = null;
    this.rowErrors = {};
    this.announcement = "";
  }

  /** idle | signed-out | loading | ready | error | forbidden (also `data-state`). */
  get status(): string {
    return this.forbidden ? "forbidden" : this.list.status;
  }

  private get forbidden(): boolean {
    return this.list.status === "error" && this.list.lastError instanceof ApiError && this.list.lastError.status === 403;
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    this.reveal = null;
  }

  protected willUpdate(changed: PropertyValues<this>): void {
    if ((changed.has("apiBase") || changed.has("getSession")) && this.isConnected) {
      if (this.apiBase && this.getSession) void this.load();
      else this.list.signOut();
    }
  }

  protected updated(): void {
    if (this.dataset.state !== this.status) this.dataset.state = this.status;
  }

  private api(): AdminApi {
    return new AdminApi(this.apiBase, () => (this.getSession ? this.getSession() : null));
  }

  private child<K extends keyof HTMLElementTagNameMap>(tag: K): HTMLElementTagNameMap[K] | null {
    return this.renderRoot?.querySelector(tag) ?? null;
  }

  /** Loads (or reloads) the inventory's first page under the filters, and the counts. */
  async load(options: { announce?: boolean } = {}): Promise<void> {
    const summary = this.loadSummary();
    const loaded = await this.list.load();
    await summary;
    if (!loaded) return;
    this.now = Date.now();
    await this.updateComplete;
    await this.child("patgate-token-table")?.updateComplete;
    if (!this.child("patgate-service-accounts")?.accounts.length) void this.child("patgate-service-accounts")?.load();
    this.dispatchEvent(
      new CustomEvent("patgate-admin-tokens:rendered", { bubbles: true, composed: true, detail: { count: this.list.tokens.length } }),
    );
    if (options.announce) this.announce(`Inventory loaded: ${countLabel(this.list.tokens.length)}${this.list.nextToken ? " so far" : ""}.`);
  }

  private async loadSummary(): Promise<void> {
    try {
      this.summary = await this.api().summary(this.filters);
      this.summaryError = "";
    } catch (error) {
      this.summary = null;
      this.summaryError = isSignedOut(error) ? "" : `The counts could not be loaded. ${describe(error)}`;
    }
  }

  private sessionEnded(): void {
    this.reveal = null;
    this.child("patgate-token-form")?.close();
    this.dispatchEvent(new CustomEvent("patgate-admin-tokens:unauthenticated", { bubbles: true, composed: true, detail: {} }));
  }

  private announce(message: string): void {
    this.announcement = message === this.announcement ? `${message}\u00a0` : message;
  }

  private async focusHeading(): Promise<void> {
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>("#inventory-heading")?.focus();
  }

  private async focusRow(id: string | null | undefined): Promise<void> {
    await this.updateComplete;
    const table = this.child("patgate-token-table");
    if (!id || !table || !(await table.focusRow(id))) await this.focusHeading();
  }

  private async revoke(token: Token): Promise<void> {
    this.rowErrors = { ...this.rowErrors, [token.id]: "" };
    const answer = await this.child("patgate-admin-revoke-dialog")?.ask(token);
    if (!answer) return;
    this.announce(`Token “${token.name}” of ${token.ownerId} revoked.`);
    const outcome = await this.list.revoke(token, (next) => void this.focusRow(next?.id), answer.note || undefined);
    if (outcome === "revoked") void this.loadSummary();
    if (typeof outcome === "object") {
      const message = `“${token.name}” could not be revoked and still works. ${describe(outcome.failed)}`;
      this.rowErrors = { ...this.rowErrors, [token.id]: message };
      void this.focusRow(token.id);
      this.announce(message);
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
    if (added.length > 0) await this.focusRow(added[0].id);
    else if (this.list.nextToken) this.renderRoot.querySelector<HTMLElement>("#load-more")?.focus();
    else await this.focusHeading();
    this.announce(`${countLabel(added.length)} more loaded.`);
  }

  private async createServiceToken(request: CreateRequest): Promise<CreatedToken> {
    const account = this.account;
    if (!account) throw new ApiError(0, "no_account", "Choose a service account first.");
    try {
      return await this.api().createServiceToken(account.id, request);
    } catch (error) {
      if (isSignedOut(error)) {
        this.list.signOut();
        this.sessionEnded();
      }
      throw error;
    }
  }

  private async showReveal(created: CreatedToken): Promise<void> {
    const { token, ...view } = created;
    this.reveal = { ...view, token, rotated: false, owner: this.account?.name ?? "the service account" };
    this.announce(`Token “${created.name}” created for ${this.account?.name ?? "the service account"}. Copy it now: it will not be shown again.`);
    void this.load();
    await this.updateComplete;
    await this.child("patgate-token-reveal")?.focusSecret();
  }

  private readonly handlers: Record<string, Handler> = {
    [ANNOUNCE]: (e) => this.announce(e.detail as string),
    [REVOKE_REQUEST]: (e) => void this.revoke(e.detail as Token),
    [FILTERS_CHANGED]: (e) => {
      this.filters = e.detail as InventoryFilters;
      this.rowErrors = {};
      this.list.clear(); // the rows of other filters must not stand for these
      void this.load({ announce: true });
    },
    [SERVICE_TOKEN_REQUEST]: (e) => {
      this.account = e.detail as ServiceAccount;
      const form = this.child("patgate-token-form");
      form?.reset();
      form?.open();
    },
    [SESSION_ENDED]: () => {
      this.list.signOut();
      this.sessionEnded();
    },
    [CREATED]: (e) => void this.showReveal(e.detail as CreatedToken),
    [REVEAL_DONE]: () => {
      const id = this.account?.id;
      this.reveal = null;
      this.announce("The new token was removed from the page. It cannot be shown again.");
      if (id) void this.child("patgate-service-accounts")?.updateComplete.then(() =>
        this.child("patgate-service-accounts")?.renderRoot.querySelector<HTMLElement>(`#token-for-${CSS.escape(id)}`)?.focus(),
      );
    },
    [DIALOG_CLOSED]: (e) => {
      const { id } = e.detail as { id: string };
      void this.child("patgate-token-table")?.focusAction(id, "revoke");
    },
  };

  protected createRenderRoot(): HTMLElement | DocumentFragment {
    const root = super.createRenderRoot();
    for (const [type, handler] of Object.entries(this.handlers)) root.addEventListener(type, handler as EventListener);
    return root;
  }

  render(): TemplateResult {
    const status = this.status;
    return html`<div class="stack">
      <p class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">${this.announcement}</p>
      ${status === "signed-out"
        ? html`<p class="card">Sign in to see the organisation's access tokens.</p>`
        : status === "forbidden"
          ? html`<section class="card notice" id="forbidden" aria-labelledby="forbidden-heading">
              <h2 id="forbidden-heading" tabindex="-1">Administrators only</h2>
              <p>${FORBIDDEN_NOTICE}</p>
            </section>`
          : html`<patgate-token-reveal .reveal=${this.reveal}></patgate-token-reveal>
              ${this.renderSummary()} ${this.renderInventory()}
              <section class="card"><patgate-service-accounts .api=${this.api()}></patgate-service-accounts></section>`}
      <patgate-admin-revoke-dialog></patgate-admin-revoke-dialog>
      <patgate-token-form
        person-zone=${this.personZone}
        .now=${this.now}
        .permissions=${[]}
        subject=${this.account?.name ?? ""}
        .submit=${(request: CreateRequest) => this.createServiceToken(request)}
      ></patgate-token-form>
    </div>`;
  }

  private renderSummary(): TemplateResult {
    const kind = this.filters.ownerKind === "service" ? "service accounts'" : this.filters.ownerKind === "user" ? "people's" : "";
    const scope = this.filters.scoped === "true" ? ", limited permissions" : this.filters.scoped === "false" ? ", all of the owner's permissions" : "";
    return html`<section class="card" aria-labelledby="summary-heading">
      <h2 id="summary-heading">Counts${kind || scope ? html` <span class="muted">(${kind || "all"} tokens${scope})</span>` : nothing}</h2>
      ${this.summaryError ? html`<p class="message error">${this.summaryError}</p>` : nothing}
      ${this.summary ? summaryList(this.summary) : this.summaryError ? nothing : html`<p class="muted">Loading the counts…</p>`}
      <p class="muted small">Counted per day across the organisation (the owner, expiry and idle filters do not apply).</p>
    </section>`;
  }

  private renderInventory(): TemplateResult {
    const list = this.list;
    const ready = list.status === "ready";
    return html`<section class="card" aria-labelledby="inventory-heading" aria-busy=${list.status === "loading" || list.refreshing ? "true" : "false"}>
      <div class="section-head">
        <h2 id="inventory-heading" tabindex="-1">
          Tokens${ready ? html` <span class="muted">(${list.tokens.length}${list.nextToken ? "+" : ""})</span>` : nothing}
        </h2>
        <div class="actions">
          <button type="button" class="small" ?hidden=${!ready} @click=${() => this.load({ announce: true })}>Refresh</button>
        </div>
      </div>
      <patgate-inventory-filters .value=${this.filters}></patgate-inventory-filters>
      <div class="list-body">${this.renderInventoryContent()}</div>
    </section>`;
  }

  private renderInventoryContent(): TemplateResult {
    const list = this.list;
    if (list.status === "loading" || list.status === "idle") return html`<p class="muted">Loading the inventory…</p>`;
    if (list.status === "error") {
      return html`<div class="message error" role="alert">
        <p>${list.loadError}</p>
        <div class="actions"><button type="button" @click=${() => this.load()}>Try again</button></div>
      </div>`;
    }
    return html`${list.loadError
        ? html`<div class="message error" role="alert"><p>${list.loadError} The list below may be out of date.</p></div>`
        : nothing}
      ${list.tokens.length === 0
        ? html`<p class="empty"><strong>No live token matches these filters.</strong></p>`
        : html`<patgate-token-table
            label="Organisation tokens"
            search-label="Search by name, description or owner"
            show-owner
            order="expiring"
            .filters=${TABLE_FILTERS}
            .tokens=${list.tokens}
            .now=${this.now}
            zone=${this.personZone}
            .rowErrors=${this.rowErrors}
          ></patgate-token-table>`}
      ${list.nextToken
        ? html`<div class="actions">
            <button type="button" id="load-more" aria-disabled=${list.refreshing ? "true" : "false"} @click=${this.loadMore}>
              Load more tokens
            </button>
          </div>`
        : nothing}`;
  }
}

if (!customElements.get("patgate-admin-tokens")) customElements.define("patgate-admin-tokens", PatgateAdminTokens);

declare global {
  interface HTMLElementTagNameMap {
    "patgate-admin-tokens": PatgateAdminTokens;
  }
}
