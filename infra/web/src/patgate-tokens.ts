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
 * - `patgate-tokens:unauthenticated` when the API refuses the session (401).
 * The host element's `data-state` reads idle | signed-out | loading | ready | error.
 */
import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import { guard } from "lit/directives/guard.js";
import { live } from "lit/directives/live.js";
import { repeat } from "lit/directives/repeat.js";
import { ApiError, TokenApi, type Caller, type Limits, type SessionProvider, type Token } from "./api.js";
import { charCount, durationLabel, fieldLabel, fieldMessage, revokedReasonLabel, shortUserAgent } from "./format.js";
import { styles } from "./styles.js";
import * as time from "./time.js";

export const NAME_MAX = 100;
export const DESCRIPTION_MAX = 500;
const GRACE_CHOICES = [0, 3_600, 86_400];
const FIELD_ORDER = ["name", "description", "expiresOn", "timeZone", "permissions"];
const TICK_MS = 30_000;

type Status = "idle" | "signed-out" | "loading" | "ready" | "error";
type FieldErrors = Partial<Record<string, string>>;

interface Reveal {
  id: string;
  name: string;
  token: string;
  expiresOn: string;
  timeZone: string;
  rotated: boolean;
  permissions?: string[] | null;
}

interface RevokedView {
  status: "loading" | "shown" | "unavailable" | "error";
  tokens: Token[];
  message?: string;
}

function newestFirst(a: Token, b: Token): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function lastRevokedFirst(a: Token, b: Token): number {
  const [x, y] = [a.revokedAt ?? "", b.revokedAt ?? ""];
  return x !== y ? (x < y ? 1 : -1) : newestFirst(a, b);
}

function instant(text: string | null | undefined): number | null {
  if (!text) return null;
  const value = Date.parse(text);
  return Number.isNaN(value) ? null : value;
}

export class PatgateTokens extends LitElement {
  static styles = styles;

  static properties = {
    apiBase: { type: String, attribute: "api-base" },
    getSession: { attribute: false },
    status: { state: true },
    loadError: { state: true },
    refreshing: { state: true },
    tokens: { state: true },
    nextToken: { state: true },
    limits: { state: true },
    caller: { state: true },
    now: { state: true },
    name: { state: true },
    description: { state: true },
    expiresOn: { state: true },
    timeZone: { state: true },
    permissionMode: { state: true },
    chosenPermissions: { state: true },
    fieldErrors: { state: true },
    formError: { state: true },
    submitting: { state: true },
    reveal: { state: true },
    copyStatus: { state: true },
    confirming: { state: true },
    rotating: { state: true },
    rotateGrace: { state: true },
    rotateError: { state: true },
    rotateBusy: { state: true },
    rowErrors: { state: true },
    revoked: { state: true },
    announcement: { state: true },
  };

  /** The token API's base URL (attribute `api-base`). */
  declare apiBase: string;
  /** Returns the Authorization header value for the token API (set by the host). */
  declare getSession: SessionProvider | undefined;

  declare status: Status;
  declare loadError: string;
  declare refreshing: boolean;
  declare tokens: Token[];
  declare nextToken: string | null;
  declare limits: Limits | null;
  declare caller: Caller | null;
  declare now: number;
  declare name: string;
  declare description: string;
  declare expiresOn: string;
  declare timeZone: string;
  declare permissionMode: "all" | "some";
  declare chosenPermissions: string[];
  declare fieldErrors: FieldErrors;
  declare formError: string;
  declare submitting: boolean;
  declare reveal: Reveal | null;
  declare copyStatus: string;
  declare confirming: Token | null;
  declare rotating: Token | null;
  declare rotateGrace: number;
  declare rotateError: string;
  declare rotateBusy: boolean;
  declare rowErrors: Record<string, string>;
  declare revoked: RevokedView | null;
  declare announcement: string;

  private readonly personZone = time.isKnownZone(time.localZone()) ? time.localZone() : "UTC";
  /** The IANA zone list: only the chosen zone until the list is on screen (it is the bulk of a render). */
  private zones: string[];
  private loadSeq = 0;
  private renderedPending = false;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private dateTouched = false;
  private focusAfterRender: string | null = null;
  private readonly revoking = new Set<string>();

  constructor() {
    super();
    this.apiBase = "";
    this.getSession = undefined;
    this.status = "idle";
    this.loadError = "";
    this.refreshing = false;
    this.tokens = [];
    this.nextToken = null;
    this.limits = null;
    this.caller = null;
    this.now = Date.now();
    this.name = "";
    this.description = "";
    this.timeZone = this.personZone;
    this.zones = [this.timeZone];
    this.expiresOn = time.defaultExpiry(this.timeZone, this.now, this.maxDays);
    this.permissionMode = "all";
    this.chosenPermissions = [];
    this.fieldErrors = {};
    this.formError = "";
    this.submitting = false;
    this.reveal = null;
    this.copyStatus = "";
    this.confirming = null;
    this.rotating = null;
    this.rotateGrace = 0;
    this.rotateError = "";
    this.rotateBusy = false;
    this.rowErrors = {};
    this.revoked = null;
    this.announcement = "";
  }

  // ------------------------------------------------------------------ lifecycle

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
    if (changed.has("now") && !this.dateTouched) {
      // Keep the untouched default in step with the calendar (a page left open overnight).
      this.expiresOn = time.defaultExpiry(this.timeZone, this.now, this.maxDays);
    }
    if ((changed.has("apiBase") || changed.has("getSession")) && this.isConnected) {
      if (this.apiBase && this.getSession) {
        void this.load();
      } else {
        this.status = "signed-out";
        this.tokens = [];
      }
    }
  }

  protected updated(): void {
    if (this.dataset.state !== this.status) this.dataset.state = this.status;
    if (this.zones.length === 1 && this.status !== "loading" && this.status !== "idle") {
      // The list goes out and comes back before the 400-odd zone options are built.
      setTimeout(() => {
        if (this.zones.length > 1) return;
        this.zones = time.zoneList(this.personZone, this.timeZone);
        this.requestUpdate();
      });
    }
    const revokeDialog = this.dialog("revoke-dialog");
    if (this.confirming && revokeDialog && !revokeDialog.open) revokeDialog.showModal();
    const rotateDialog = this.dialog("rotate-dialog");
    if (this.rotating && rotateDialog && !rotateDialog.open) rotateDialog.showModal();
    if (this.focusAfterRender) {
      const target = this.renderRoot.querySelector<HTMLElement>(this.focusAfterRender);
      this.focusAfterRender = null;
      if (target) {
        target.focus();
        if (target instanceof HTMLInputElement && target.readOnly) target.select();
      }
    }
    if (this.renderedPending && this.status === "ready") {
      this.renderedPending = false;
      this.dispatchEvent(
        new CustomEvent("patgate-tokens:rendered", {
          bubbles: true,
          composed: true,
          detail: { count: this.tokens.length },
        }),
      );
    }
  }

  // ------------------------------------------------------------------ data

  private get maxDays(): number {
    const days = this.limits?.maxTokenLifetimeDays;
    return typeof days === "number" && days >= 0 ? days : time.DEFAULT_MAX_LIFETIME_DAYS;
  }

  /** True when the server describes its newer features (limits in the list). */
  private get extended(): boolean {
    return this.limits !== null;
  }

  private api(): TokenApi {
    return new TokenApi(this.apiBase, () => (this.getSession ? this.getSession() : null));
  }

  /** Loads (or reloads) the list. Public so hosts can refresh it. */
  async load(options: { announce?: boolean } = {}): Promise<void> {
    if (!this.apiBase || !this.getSession) {
      this.status = "signed-out";
      return;
    }
    const seq = ++this.loadSeq;
    if (this.status !== "ready") this.status = "loading";
    this.refreshing = true;
    try {
      const list = await this.api().list();
      if (seq !== this.loadSeq) return;
      const tokens = Array.isArray(list.tokens) ? list.tokens : [];
      this.tokens = tokens.filter((t) => !this.revoking.has(t.id)).sort(newestFirst);
      this.nextToken = typeof list.nextToken === "string" && list.nextToken ? list.nextToken : null;
      const hadLimits = this.limits !== null;
      this.limits = list.limits && typeof list.limits === "object" ? list.limits : null;
      this.caller = list.caller && typeof list.caller === "object" ? list.caller : null;
      if (!hadLimits && this.limits && !this.dateTouched) {
        this.expiresOn = time.defaultExpiry(this.timeZone, this.now, this.maxDays);
      }
      this.now = Date.now();
      this.status = "ready";
      this.loadError = "";
      this.renderedPending = true;
      if (options.announce) this.announce(`List refreshed: ${this.countLabel(this.tokens.length)}.`);
    } catch (error) {
      if (seq !== this.loadSeq) return;
      if (this.handleSignedOut(error)) return;
      this.status = this.status === "ready" ? "ready" : "error";
      this.loadError = `Your tokens could not be loaded. ${this.describe(error)}`;
    } finally {
      if (seq === this.loadSeq) this.refreshing = false;
    }
  }

  private async loadMore(): Promise<void> {
    if (!this.nextToken || this.refreshing) return;
    this.refreshing = true;
    try {
      const list = await this.api().list({ nextToken: this.nextToken });
      const known = new Set(this.tokens.map((t) => t.id));
      const more = (list.tokens ?? []).filter((t) => !known.has(t.id) && !this.revoking.has(t.id));
      this.tokens = [...this.tokens, ...more].sort(newestFirst);
      this.nextToken = typeof list.nextToken === "string" && list.nextToken ? list.nextToken : null;
      // The button may be gone: focus goes on to the first token it brought.
      this.focusAfterRender = more.length > 0 ? `#token-${more[0].id}` : this.nextToken ? "#load-more" : "#list-heading";
      this.announce(`${this.countLabel(more.length)} more loaded.`);
    } catch (error) {
      if (!this.handleSignedOut(error)) this.announce(`More tokens could not be loaded. ${this.describe(error)}`);
    } finally {
      this.refreshing = false;
    }
  }

  private handleSignedOut(error: unknown): boolean {
    if (error instanceof ApiError && (error.status === 401 || error.code === "signed_out")) {
      this.status = "signed-out";
      this.tokens = [];
      this.reveal = null;
      this.dispatchEvent(new CustomEvent("patgate-tokens:unauthenticated", { bubbles: true, composed: true }));
      return true;
    }
    return false;
  }

  /** A person-readable sentence for a failed call. */
  private describe(error: unknown): string {
    if (!(error instanceof ApiError)) return "Something went wrong. Please try again.";
    switch (error.status) {
      case 0:
        return "The token service could not be reached. Check your connection, then try again.";
      case 403:
        return "Your account may not manage tokens (it is not active). Ask an administrator.";
      case 429:
      case 503:
        return "The token service is busy right now. Please try again in a moment.";
      default:
        if (error.status >= 500) return "The token service had a problem. Please try again in a moment.";
        return error.message.endsWith(".") ? error.message : `${error.message}.`;
    }
  }

  private announce(message: string): void {
    // A changed text is what screen readers announce; repeat messages differ by a space.
    this.announcement = message === this.announcement ? `${message}\u00a0` : message;
  }

  private countLabel(n: number): string {
    return `${n} token${n === 1 ? "" : "s"}`;
  }

  private dialog(id: string): HTMLDialogElement | null {
    return this.renderRoot?.querySelector<HTMLDialogElement>(`#${id}`) ?? null;
  }

  // ------------------------------------------------------------------ create

  private get range(): time.DateRange {
    return time.allowedRange(this.timeZone, this.now, this.maxDays);
  }

  private validate(): FieldErrors {
    const errors: FieldErrors = {};
    const name = this.name.trim();
    if (!name) errors.name = "Enter a name for the token.";
    else if (charCount(name) > NAME_MAX) errors.name = `Use at most ${NAME_MAX} characters for the name.`;
    if (charCount(this.description.trim()) > DESCRIPTION_MAX) {
      errors.description = `Use at most ${DESCRIPTION_MAX} characters for the description.`;
    }
    const range = this.range;
    if (!time.parseDate(this.expiresOn)) errors.expiresOn = "Enter an expiration date.";
    else if (this.expiresOn < range.min) {
      errors.expiresOn = `Choose today (${time.dayLabel(range.min)}) or a later date.`;
    } else if (this.expiresOn > range.max) {
      errors.expiresOn = `Choose ${time.dayLabel(range.max)} or an earlier date: tokens last at most ${this.maxDays} days.`;
    }
    if (!time.isKnownZone(this.timeZone)) errors.timeZone = "Choose a time zone from the list.";
    if (this.permissionMode === "some" && this.chosenPermissions.length === 0) {
      errors.permissions = "Choose at least one permission, or give the token all of yours.";
    }
    return errors;
  }

  private focusFirstError(errors: FieldErrors): void {
    const first = FIELD_ORDER.find((field) => errors[field]);
    this.focusAfterRender = first ? `#${first}` : "#form-error";
  }

  private async onCreate(event: Event): Promise<void> {
    event.preventDefault();
    if (this.submitting) return; // a double submit never sends twice
    const errors = this.validate();
    this.formError = "";
    if (Object.keys(errors).length > 0) {
      this.fieldErrors = errors;
      this.focusFirstError(errors);
      const count = Object.keys(errors).length;
      this.announce(`The token was not created: ${count === 1 ? "1 field needs" : `${count} fields need`} attention.`);
      return;
    }
    this.fieldErrors = {};
    this.submitting = true;
    this.announce("Creating the token…");
    const description = this.description.trim();
    try {
      const created = await this.api().create({
        name: this.name.trim(),
        ...(description ? { description } : {}),
        expiresOn: this.expiresOn,
        timeZone: this.timeZone,
        ...(this.permissionMode === "some" ? { permissions: [...this.chosenPermissions] } : {}),
      });
      const { token, ...view } = created;
      this.tokens = [view, ...this.tokens.filter((t) => t.id !== view.id)].sort(newestFirst);
      if (this.status !== "ready") this.status = "ready";
      this.showReveal({ ...view, token }, false);
      this.name = "";
      this.description = "";
      this.permissionMode = "all";
      this.chosenPermissions = [];
      this.dateTouched = false;
      this.expiresOn = time.defaultExpiry(this.timeZone, this.now, this.maxDays);
    } catch (error) {
      this.createFailed(error);
    } finally {
      this.submitting = false;
    }
  }

  private createFailed(error: unknown): void {
    if (this.handleSignedOut(error)) return;
    if (error instanceof ApiError) {
      if (error.status === 400 && error.code === "invalid_field" && fieldLabel(error.field) && error.field) {
        const field = error.field === "graceSeconds" ? "" : error.field;
        if (field) {
          this.fieldErrors = { [field]: fieldMessage(field, error.message) };
          this.focusFirstError(this.fieldErrors);
          this.announce(`The token was not created: ${this.fieldErrors[field]}`);
          return;
        }
      }
      if (error.status === 409) {
        // The cap: from the list's limits, else from the server's message ("… 50 live tokens …").
        const cap = this.limits?.maxTokensPerUser ?? Number(/(\d+) live tokens/.exec(error.message)?.[1] ?? 0);
        this.formError =
          `You already have ${cap ? `${cap} tokens, the most allowed` : "the most tokens allowed"}. ` +
          "Revoke a token you no longer use, then create this one.";
      } else if (error.status === 503 || error.status === 429) {
        this.formError = "The token service is busy right now and nothing was created. Please try again in a moment.";
      } else if (error.status === 413) {
        this.formError = "The request is too large. Shorten the description, then try again.";
      } else if (error.status === 0) {
        this.formError =
          "The token service could not be reached. Check your connection; the list is refreshed so that you can see whether the token was created.";
        void this.load();
      } else if (error.status === 400) {
        this.formError = `The token was not created: ${this.describe(error)}`;
      } else {
        this.formError = `The token was not created. ${this.describe(error)}`;
      }
    } else {
      this.formError = "The token was not created. Something went wrong; please try again.";
    }
    this.focusAfterRender = "#form-error";
    this.announce(this.formError);
  }

  private setZone(zone: string): void {
    this.timeZone = zone;
    if (!this.dateTouched) this.expiresOn = time.defaultExpiry(zone, this.now, this.maxDays);
    this.clearFieldError("timeZone");
  }

  private clearFieldError(field: string): void {
    if (this.fieldErrors[field]) {
      const rest = { ...this.fieldErrors };
      delete rest[field];
      this.fieldErrors = rest;
    }
  }

  // ------------------------------------------------------------------ reveal

  private showReveal(created: Token & { token: string }, rotated: boolean): void {
    this.copyStatus = "";
    this.reveal = {
      id: created.id,
      name: created.name,
      token: created.token,
      expiresOn: created.expiresOn,
      timeZone: created.timeZone,
      rotated,
      permissions: created.permissions,
    };
    this.focusAfterRender = "#new-token";
    this.announce(
      `Token “${created.name}” ${rotated ? "rotated" : "created"}. Copy it now: it will not be shown again.`,
    );
  }

  private async copy(): Promise<void> {
    if (!this.reveal) return;
    const input = this.renderRoot.querySelector<HTMLInputElement>("#new-token");
    try {
      if (!navigator.clipboard?.writeText) throw new Error("no clipboard");
      await navigator.clipboard.writeText(this.reveal.token);
      this.copyStatus = "Copied to the clipboard.";
    } catch {
      input?.focus();
      input?.select();
      this.copyStatus = "Copying was refused by the browser: the token is selected, press Ctrl+C (⌘C on a Mac).";
    }
  }

  private dismissReveal(): void {
    const id = this.reveal?.id;
    this.reveal = null; // the plaintext leaves the component's state and the DOM
    this.copyStatus = "";
    this.focusAfterRender = id && this.tokens.some((t) => t.id === id) ? `#token-${id}` : "#list-heading";
    this.announce("The new token is hidden.");
  }

  // ------------------------------------------------------------------ revoke

  private openRevoke(token: Token): void {
    this.rowErrors = { ...this.rowErrors, [token.id]: "" };
    this.confirming = token;
  }

  private onRevokeDialogClose(): void {
    // Esc, Cancel: the token stays; focus goes back to its Revoke button.
    if (this.confirming) {
      const id = this.confirming.id;
      this.confirming = null;
      this.focusAfterRender = `#revoke-${id}`;
    }
  }

  private async confirmRevoke(): Promise<void> {
    const token = this.confirming;
    if (!token || this.revoking.has(token.id)) return;
    this.confirming = null;
    this.dialog("revoke-dialog")?.close();
    const index = this.tokens.findIndex((t) => t.id === token.id);
    this.revoking.add(token.id);
    this.tokens = this.tokens.filter((t) => t.id !== token.id);
    const next = this.tokens[index] ?? this.tokens[index - 1];
    this.focusAfterRender = next ? `#token-${next.id}` : "#list-heading";
    this.announce(`Token “${token.name}” revoked.`);
    try {
      await this.api().revoke(token.id);
      if (this.revoked?.status === "shown") void this.loadRevoked();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return; // already gone
      if (this.handleSignedOut(error)) return;
      this.tokens = [...this.tokens.filter((t) => t.id !== token.id), token].sort(newestFirst);
      const message = `“${token.name}” could not be revoked and still works. ${this.describe(error)}`;
      this.rowErrors = { ...this.rowErrors, [token.id]: message };
      this.focusAfterRender = `#token-${token.id}`;
      this.announce(message);
    } finally {
      this.revoking.delete(token.id);
    }
  }

  // ------------------------------------------------------------------ rotate (newer servers)

  private get graceChoices(): number[] {
    const max = this.limits?.maxGraceSeconds;
    return GRACE_CHOICES.filter((s) => typeof max !== "number" || s <= max);
  }

  private openRotate(token: Token): void {
    this.rotateError = "";
    this.rotateGrace = 0;
    this.rotating = token;
  }

  private onRotateDialogClose(): void {
    if (this.rotating) {
      const id = this.rotating.id;
      this.rotating = null;
      this.rotateError = "";
      this.focusAfterRender = `#rotate-${id}`;
    }
  }

  private async confirmRotate(): Promise<void> {
    const token = this.rotating;
    if (!token || this.rotateBusy) return;
    this.rotateBusy = true;
    this.rotateError = "";
    try {
      const created = await this.api().rotate(token.id, {
        ...(this.rotateGrace > 0 ? { graceSeconds: this.rotateGrace } : {}),
      });
      this.rotating = null;
      this.dialog("rotate-dialog")?.close();
      const { token: plaintext, ...view } = created;
      this.tokens = [view, ...this.tokens.filter((t) => t.id !== view.id && t.id !== token.id)].sort(newestFirst);
      this.showReveal({ ...view, token: plaintext }, true);
      void this.load();
    } catch (error) {
      if (this.handleSignedOut(error)) {
        this.rotating = null;
        this.dialog("rotate-dialog")?.close();
      } else if (error instanceof ApiError && error.status === 409) {
        this.rotateError = "This token was rotated somewhere else just now. The list is refreshed: check it before rotating again.";
        void this.load();
      } else if (error instanceof ApiError && (error.status === 404 || error.status === 403) && !error.field) {
        this.rotateError =
          error.code === "not_found"
            ? "This token no longer exists (revoked or expired)."
            : "Rotation is not available on this server.";
      } else {
        this.rotateError = `The token was not rotated. ${this.describe(error)}`;
      }
    } finally {
      this.rotateBusy = false;
    }
  }

  // ------------------------------------------------------------------ recently revoked (newer servers)

  private async toggleRevoked(): Promise<void> {
    if (this.revoked && this.revoked.status !== "loading") {
      this.revoked = null;
      return;
    }
    this.revoked = { status: "loading", tokens: [] };
    await this.loadRevoked();
  }

  /** Loads the recently revoked tokens into the open section. */
  private async loadRevoked(): Promise<void> {
    let view: RevokedView;
    try {
      const list = await this.api().list({ status: "revoked" });
      const tokens = Array.isArray(list.tokens) ? list.tokens : [];
      if (tokens.some((t) => !t.revokedAt)) {
        view = { status: "unavailable", tokens: [], message: "Recently revoked tokens are not available here." };
      } else {
        view = { status: "shown", tokens: [...tokens].sort(lastRevokedFirst) };
      }
    } catch (error) {
      if (this.handleSignedOut(error)) return;
      view = { status: "error", tokens: [], message: `Revoked tokens could not be loaded. ${this.describe(error)}` };
    }
    if (this.revoked) this.revoked = view; // unless the section was closed meanwhile
  }

  // ------------------------------------------------------------------ rendering

  render(): TemplateResult {
    return html`
      <div class="stack">
        <p class="visually-hidden" role="status" aria-live="polite" aria-atomic="true">${this.announcement}</p>
        ${this.status === "signed-out"
          ? html`<p class="card">Sign in to see and manage your access tokens.</p>`
          : html`${this.renderReveal()}${this.renderForm()}${this.renderList()}`}
      </div>
      ${this.renderRevokeDialog()} ${this.renderRotateDialog()}
    `;
  }

  private renderReveal(): TemplateResult | typeof nothing {
    const reveal = this.reveal;
    if (!reveal) return nothing;
    return html`
      <section class="card reveal" aria-labelledby="reveal-title">
        <h2 id="reveal-title">Copy your ${reveal.rotated ? "rotated" : "new"} token “${reveal.name}”</h2>
        <p class="warning" id="reveal-warning">
          This is the only time the token is shown. Copy it now and store it somewhere safe: once you close this
          panel, it cannot be shown again.
        </p>
        <label for="new-token">New token</label>
        <div class="copy-row">
          <input
            id="new-token"
            type="text"
            readonly
            .value=${live(reveal.token)}
            aria-describedby="reveal-warning"
            autocomplete="off"
            autocapitalize="off"
            spellcheck="false"
          />
          <button type="button" class="primary" @click=${this.copy}>Copy</button>
        </div>
        <p class="copied" role="status">${this.copyStatus}</p>
        <p class="muted">
          Send it as <code>Authorization: Bearer &lt;token&gt;</code>.
          ${Array.isArray(reveal.permissions)
            ? `It may use ${reveal.permissions.join(", ")}`
            : "It may do what you may do"},
          and stops working at the ${time.expiryLabel(reveal.expiresOn, reveal.timeZone)}.
        </p>
        <div class="actions">
          <button type="button" @click=${this.dismissReveal}>Done</button>
        </div>
      </section>
    `;
  }

  private describedBy(field: string, ...others: string[]): string {
    return [...others, this.fieldErrors[field] ? `${field}-error` : ""].filter(Boolean).join(" ");
  }

  private fieldError(field: string): TemplateResult | typeof nothing {
    const message = this.fieldErrors[field];
    return message ? html`<p class="field-error" id="${field}-error">${message}</p>` : nothing;
  }

  private renderForm(): TemplateResult {
    const range = this.range;
    const picks = time.quickPicks(this.timeZone, this.now, this.maxDays);
    const nameCount = charCount(this.name);
    const descriptionCount = charCount(this.description);
    const validDate = time.inRange(this.expiresOn, range);
    const permissions = this.caller?.permissions ?? [];
    return html`
      <section class="card" aria-labelledby="create-heading">
        <div class="section-head">
          <h2 id="create-heading">Create a token</h2>
        </div>
        <form novalidate @submit=${this.onCreate}>
          <div class="field">
            <div class="label-line">
              <label for="name">Name</label>
              <span class="counter ${nameCount > NAME_MAX ? "over" : ""}" id="name-count"
                >${nameCount}/${NAME_MAX}</span
              >
            </div>
            <input
              id="name"
              name="name"
              type="text"
              required
              maxlength=${NAME_MAX}
              autocomplete="off"
              .value=${live(this.name)}
              aria-invalid=${this.fieldErrors.name ? "true" : "false"}
              aria-describedby=${this.describedBy("name", "name-hint", "name-count")}
              @input=${(e: Event) => {
                this.name = (e.target as HTMLInputElement).value;
                this.clearFieldError("name");
              }}
            />
            <p class="hint" id="name-hint">Required. What the token is for, e.g. “ci-deploy”.</p>
            ${this.fieldError("name")}
          </div>

          <div class="field">
            <div class="label-line">
              <label for="description">Description</label>
              <span class="counter ${descriptionCount > DESCRIPTION_MAX ? "over" : ""}" id="description-count"
                >${descriptionCount}/${DESCRIPTION_MAX}</span
              >
            </div>
            <textarea
              id="description"
              name="description"
              rows="2"
              maxlength=${DESCRIPTION_MAX}
              .value=${live(this.description)}
              aria-invalid=${this.fieldErrors.description ? "true" : "false"}
              aria-describedby=${this.describedBy("description", "description-hint", "description-count")}
              @input=${(e: Event) => {
                this.description = (e.target as HTMLTextAreaElement).value;
                this.clearFieldError("description");
              }}
            ></textarea>
            <p class="hint" id="description-hint">Optional. Where and how it is used, to tell tokens apart.</p>
            ${this.fieldError("description")}
          </div>

          <div class="field-row">
            <div class="field">
              <label for="expiresOn">Expiration date</label>
              <input
                id="expiresOn"
                name="expiresOn"
                type="date"
                required
                min=${range.min}
                max=${range.max}
                .value=${live(this.expiresOn)}
                aria-invalid=${this.fieldErrors.expiresOn ? "true" : "false"}
                aria-describedby=${this.describedBy("expiresOn", "expiresOn-hint")}
                @input=${(e: Event) => {
                  this.expiresOn = (e.target as HTMLInputElement).value;
                  this.dateTouched = true;
                  this.clearFieldError("expiresOn");
                }}
              />
              <p class="hint" id="expiresOn-hint">
                From today to ${time.dayLabel(range.max)}. The token works until the end of that day.
              </p>
              ${this.fieldError("expiresOn")}
            </div>
            <div class="field">
              <label for="timeZone">Time zone</label>
              <select
                id="timeZone"
                name="timeZone"
                aria-invalid=${this.fieldErrors.timeZone ? "true" : "false"}
                aria-describedby=${this.describedBy("timeZone", "timeZone-hint")}
                @change=${(e: Event) => this.setZone((e.target as HTMLSelectElement).value)}
              >
                ${guard([this.zones, this.timeZone], () =>
                  this.zones.map((zone) => html`<option value=${zone} ?selected=${zone === this.timeZone}>${zone}</option>`),
                )}
              </select>
              <p class="hint" id="timeZone-hint">The day ends at midnight in this zone. Yours: ${this.personZone}.</p>
              ${this.fieldError("timeZone")}
            </div>
          </div>

          <div class="picks" role="group" aria-labelledby="picks-label">
            <span id="picks-label" class="hint">Quick picks:</span>
            ${picks.map(
              (pick) => html`<button
                type="button"
                class="small"
                aria-pressed=${pick.date === this.expiresOn ? "true" : "false"}
                @click=${() => {
                  this.expiresOn = pick.date;
                  this.dateTouched = true;
                  this.clearFieldError("expiresOn");
                }}
              >
                ${pick.label}
              </button>`,
            )}
          </div>

          <p class="stop-line" id="stop-line" aria-live="polite">
            ${validDate
              ? time.stopsWorkingLine(this.expiresOn, this.timeZone, this.personZone, this.now)
              : "Choose an expiration date to see when the token stops working."}
          </p>

          ${permissions.length > 0 ? this.renderPermissions(permissions) : nothing}

          <div
            class="message error"
            id="form-error"
            role="alert"
            tabindex="-1"
            ?hidden=${!this.formError}
          >
            ${this.formError}
          </div>

          <div class="actions">
            <button type="submit" class="primary" aria-disabled=${this.submitting ? "true" : "false"}>
              Create token
            </button>
            ${this.submitting ? html`<span class="muted">Creating…</span>` : nothing}
          </div>
        </form>
      </section>
    `;
  }

  private renderPermissions(permissions: string[]): TemplateResult {
    const some = this.permissionMode === "some";
    return html`
      <fieldset
        id="permissions"
        tabindex="-1"
        aria-invalid=${this.fieldErrors.permissions ? "true" : "false"}
        aria-describedby=${this.describedBy("permissions")}
      >
        <legend>Permissions</legend>
        <label class="choice">
          <input
            type="radio"
            name="permission-mode"
            value="all"
            .checked=${live(!some)}
            @change=${() => {
              this.permissionMode = "all";
              this.clearFieldError("permissions");
            }}
          />
          All of mine, as they are whenever the token is used
        </label>
        <label class="choice">
          <input
            type="radio"
            name="permission-mode"
            value="some"
            .checked=${live(some)}
            @change=${() => (this.permissionMode = "some")}
          />
          Only these:
        </label>
        <div class="perm-list">
          ${permissions.map(
            (permission) => html`<label class="choice">
              <input
                type="checkbox"
                value=${permission}
                ?disabled=${!some}
                .checked=${live(this.chosenPermissions.includes(permission))}
                @change=${(e: Event) => {
                  const on = (e.target as HTMLInputElement).checked;
                  const rest = this.chosenPermissions.filter((p) => p !== permission);
                  this.chosenPermissions = on ? [...rest, permission] : rest;
                  this.clearFieldError("permissions");
                }}
              />
              <code>${permission}</code>
            </label>`,
          )}
        </div>
        ${this.fieldError("permissions")}
      </fieldset>
    `;
  }

  private renderList(): TemplateResult {
    const cap = this.limits?.maxTokensPerUser;
    const busy = this.status === "loading";
    return html`
      <section class="card" aria-labelledby="list-heading" aria-busy=${busy || this.refreshing ? "true" : "false"}>
        <div class="section-head">
          <h2 id="list-heading" tabindex="-1">
            Your tokens${this.status === "ready"
              ? html` <span class="muted">(${this.tokens.length}${this.nextToken ? "+" : ""}${cap ? ` of ${cap}` : ""})</span>`
              : nothing}
          </h2>
          <div class="actions">
            <button type="button" class="small" ?hidden=${this.status !== "ready"} @click=${() => this.load({ announce: true })}>
              Refresh
            </button>
          </div>
        </div>
        ${this.renderListBody()}
      </section>
    `;
  }

  private renderListBody(): TemplateResult {
    return html`<div class="list-body">${this.renderListContent()}</div>`;
  }

  private renderListContent(): TemplateResult {
    if (this.status === "loading" || this.status === "idle") {
      return html`<p class="muted">Loading your tokens…</p>`;
    }
    if (this.status === "error") {
      return html`<div class="message error" role="alert">
        <p>${this.loadError}</p>
        <div class="actions"><button type="button" @click=${() => this.load()}>Try again</button></div>
      </div>`;
    }
    return html`
      ${this.loadError
        ? html`<div class="message error" role="alert">
            <p>${this.loadError} The list below may be out of date.</p>
            <div class="actions"><button type="button" @click=${() => this.load({ announce: true })}>Try again</button></div>
          </div>`
        : nothing}
      ${this.tokens.length === 0
        ? html`<div class="empty">
            <p><strong>You have no access tokens yet.</strong></p>
            <p class="muted">
              A token lets scripts and tools call the API as you, with your permissions, until the date you choose.
            </p>
            <button type="button" class="primary" @click=${() => this.renderRoot.querySelector<HTMLElement>("#name")?.focus()}>
              Create your first token
            </button>
          </div>`
        : html`<ul class="tokens" aria-label="Your tokens">
            ${repeat(
              this.tokens,
              (token) => token.id,
              (token) => this.renderToken(token),
            )}
          </ul>`}
      ${this.nextToken
        ? html`<div class="actions">
            <button type="button" id="load-more" aria-disabled=${this.refreshing ? "true" : "false"} @click=${this.loadMore}>
              Load more tokens
            </button>
          </div>`
        : nothing}
      ${this.extended ? this.renderRevokedSection() : nothing}
    `;
  }

  private renderToken(token: Token): TemplateResult {
    const now = this.now;
    const expiresAt = instant(token.expiresAt) ?? time.endOfDay(token.expiresOn, token.timeZone);
    const soon = time.isExpiringSoon(expiresAt, now);
    const created = instant(token.createdAt);
    const lastUsed = instant(token.lastUsedAt);
    const rotated = instant(token.rotatedAt);
    const reused = instant(token.secretReusedAt);
    const error = this.rowErrors[token.id];
    const origin = [token.lastUsedIp, shortUserAgent(token.lastUsedUserAgent)].filter(Boolean).join(", ");
    return html`
      <li class="token ${soon ? "soon" : ""}" id="token-${token.id}" tabindex="-1" aria-labelledby="name-${token.id}">
        <div class="token-head">
          <div class="token-title">
            <h3 id="name-${token.id}">${token.name}</h3>
            ${soon ? html`<span class="badge">Expires soon</span>` : nothing}
          </div>
          <div class="actions">
            ${this.extended
              ? html`<button type="button" class="small" id="rotate-${token.id}" @click=${() => this.openRotate(token)}>
                  Rotate
                </button>`
              : nothing}
            <button type="button" class="small danger" id="revoke-${token.id}" @click=${() => this.openRevoke(token)}>
              Revoke
            </button>
          </div>
        </div>
        ${token.description ? html`<p>${token.description}</p>` : nothing}
        <dl>
          <div><dt>Token</dt><dd><code>${token.hint}</code></dd></div>
          <div>
            <dt>Created</dt>
            <dd>
              ${created !== null
                ? html`<time datetime=${token.createdAt}>${time.instantDayLabel(created, this.personZone)}</time>
                    <span class="muted">(${time.relativePast(created, now)})</span>`
                : "unknown"}
              ${rotated !== null ? html`<br /><span class="muted">rotated ${time.relativePast(rotated, now)}</span>` : nothing}
            </dd>
          </div>
          <div>
            <dt>Expires</dt>
            <dd class=${soon ? "soon-text" : ""}>
              <time datetime=${token.expiresAt}>${time.expiryLabel(token.expiresOn, token.timeZone)}</time>
              (${time.relativeTime(expiresAt, now)})
            </dd>
          </div>
          <div>
            <dt>Last used</dt>
            <dd>
              ${lastUsed !== null
                ? html`<time datetime=${token.lastUsedAt ?? ""}>${time.relativePast(lastUsed, now)}</time>`
                : "never"}
            </dd>
          </div>
          ${origin ? html`<div><dt>Used from</dt><dd>${origin}</dd></div>` : nothing}
          ${"permissions" in token
            ? html`<div>
                <dt>Permissions</dt>
                <dd>${Array.isArray(token.permissions) ? token.permissions.join(", ") : "all of yours"}</dd>
              </div>`
            : nothing}
        </dl>
        ${reused !== null
          ? html`<p class="message warning">
              Its previous secret, replaced by a rotation, was tried ${time.relativePast(reused, now)} and refused. If
              that was not an old copy of your own, it may have leaked.
            </p>`
          : nothing}
        ${error ? html`<p class="message error" role="alert">${error}</p>` : nothing}
      </li>
    `;
  }

  private renderRevokedSection(): TemplateResult {
    const view = this.revoked;
    return html`
      <div class="actions">
        <button type="button" class="link" aria-expanded=${view ? "true" : "false"} @click=${this.toggleRevoked}>
          ${view ? "Hide recently revoked tokens" : "Show recently revoked tokens"}
        </button>
      </div>
      ${view
        ? view.status === "loading"
          ? html`<p class="muted">Loading…</p>`
          : view.status !== "shown"
            ? html`<p class="muted">${view.message}</p>`
            : view.tokens.length === 0
              ? html`<p class="muted">No token was revoked recently.</p>`
              : html`<ul class="tokens" aria-label="Recently revoked tokens">
                  ${view.tokens.map((token) => {
                    const at = instant(token.revokedAt);
                    return html`<li class="token" aria-labelledby="revoked-name-${token.id}">
                      <div class="token-title">
                        <h3 id="revoked-name-${token.id}">${token.name}</h3>
                        <span class="badge neutral">${revokedReasonLabel(token.revokedReason)}</span>
                      </div>
                      <p class="muted">
                        <code>${token.hint}</code>${at !== null ? html`, revoked ${time.relativePast(at, this.now)}` : nothing}
                      </p>
                    </li>`;
                  })}
                </ul>`
        : nothing}
    `;
  }

  private renderRevokeDialog(): TemplateResult {
    const token = this.confirming;
    return html`
      <dialog id="revoke-dialog" aria-labelledby="revoke-title" aria-describedby="revoke-text" @close=${this.onRevokeDialogClose}>
        ${token
          ? html`<div class="body">
              <h2 id="revoke-title">Revoke “${token.name}”?</h2>
              <p id="revoke-text">
                Scripts and tools using this token (<code>${token.hint}</code>) stop working. This cannot be undone.
              </p>
              <div class="actions">
                <button type="button" autofocus @click=${() => this.dialog("revoke-dialog")?.close()}>Cancel</button>
                <button type="button" class="danger solid" @click=${this.confirmRevoke}>Revoke token</button>
              </div>
            </div>`
          : nothing}
      </dialog>
    `;
  }

  private renderRotateDialog(): TemplateResult {
    const token = this.rotating;
    return html`
      <dialog id="rotate-dialog" aria-labelledby="rotate-title" @close=${this.onRotateDialogClose}>
        ${token
          ? html`<form class="body" novalidate @submit=${(e: Event) => {
              e.preventDefault();
              void this.confirmRotate();
            }}>
              <h2 id="rotate-title">Rotate “${token.name}”?</h2>
              <p>A new token replaces this one, and is shown once. The old one stops working after the grace period.</p>
              <fieldset>
                <legend>Grace period for the old token</legend>
                ${this.graceChoices.map(
                  (seconds) => html`<label class="choice">
                    <input
                      type="radio"
                      name="grace"
                      value=${seconds}
                      .checked=${live(this.rotateGrace === seconds)}
                      @change=${() => (this.rotateGrace = seconds)}
                    />
                    ${seconds === 0 ? "None: it stops working at once" : durationLabel(seconds)}
                  </label>`,
                )}
              </fieldset>
              ${this.rotateError ? html`<p class="message error" role="alert">${this.rotateError}</p>` : nothing}
              <div class="actions">
                <button type="button" @click=${() => this.dialog("rotate-dialog")?.close()}>Cancel</button>
                <button type="submit" class="primary" aria-disabled=${this.rotateBusy ? "true" : "false"}>
                  Rotate token
                </button>
              </div>
            </form>`
          : nothing}
      </dialog>
    `;
  }
}

if (!customElements.get("patgate-tokens")) customElements.define("patgate-tokens", PatgateTokens);

declare global {
  interface HTMLElementTagNameMap {
    "patgate-tokens": PatgateTokens;
  }
}
