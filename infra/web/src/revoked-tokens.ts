/**
 * <patgate-revoked-tokens>: "Show recently revoked tokens", a list of the last
 * revoked, last first, with why (revoked by you, reported as leaked, account
 * offboarded). It loads through its holder's `list` when opened.
 */
import { LitElement, html, nothing, type TemplateResult } from "lit";
import type { Token, TokenList } from "./api.js";
import { revokedReasonLabel } from "./format.js";
import { describe, isSignedOut } from "./messages.js";
import { base } from "./styles.js";
import * as time from "./time.js";
import { instant, newestFirst } from "./token-view.js";

interface RevokedView {
  status: "loading" | "shown" | "unavailable" | "error";
  tokens: Token[];
  message?: string;
}

function lastRevokedFirst(a: Token, b: Token): number {
  const [x, y] = [a.revokedAt ?? "", b.revokedAt ?? ""];
  return x !== y ? (x < y ? 1 : -1) : newestFirst(a, b);
}

export class PatgateRevokedTokens extends LitElement {
  static styles = base;
  static properties = {
    list: { attribute: false },
    now: { type: Number },
    view: { state: true },
  };

  /** Lists revoked tokens (`GET /tokens?status=revoked`); rejects with the API's error. */
  declare list: (() => Promise<TokenList>) | undefined;
  declare now: number;
  declare view: RevokedView | null;

  constructor() {
    super();
    this.list = undefined;
    this.now = Date.now();
    this.view = null;
  }

  /** Reloads the list if it is open (after a revoke). */
  async refresh(): Promise<void> {
    if (this.view?.status === "shown") await this.load();
  }

  private async toggle(): Promise<void> {
    if (this.view && this.view.status !== "loading") {
      this.view = null;
      return;
    }
    this.view = { status: "loading", tokens: [] };
    await this.load();
  }

  private async load(): Promise<void> {
    if (!this.list) return;
    let view: RevokedView;
    try {
      const list = await this.list();
      const tokens = Array.isArray(list.tokens) ? list.tokens : [];
      view = tokens.some((t) => !t.revokedAt)
        ? { status: "unavailable", tokens: [], message: "Recently revoked tokens are not available here." }
        : { status: "shown", tokens: [...tokens].sort(lastRevokedFirst) };
    } catch (error) {
      if (isSignedOut(error)) return; // the holder signs out
      view = { status: "error", tokens: [], message: `Revoked tokens could not be loaded. ${describe(error)}` };
    }
    if (this.view) this.view = view; // unless the section was closed meanwhile
  }

  render(): TemplateResult {
    const view = this.view;
    return html`
      <div class="actions">
        <button type="button" class="link" aria-expanded=${view ? "true" : "false"} @click=${this.toggle}>
          ${view ? "Hide recently revoked tokens" : "Show recently revoked tokens"}
        </button>
      </div>
      ${view ? this.renderView(view) : nothing}
    `;
  }

  private renderView(view: RevokedView): TemplateResult {
    if (view.status === "loading") return html`<p class="muted">Loading…</p>`;
    if (view.status !== "shown") return html`<p class="muted">${view.message}</p>`;
    if (view.tokens.length === 0) return html`<p class="muted">No token was revoked recently.</p>`;
    return html`<ul class="revoked" aria-label="Recently revoked tokens">
      ${view.tokens.map((token) => {
        const at = instant(token.revokedAt);
        return html`<li aria-labelledby="revoked-name-${token.id}">
          <div class="revoked-title">
            <h3 id="revoked-name-${token.id}">${token.name}</h3>
            <span class="badge neutral">${revokedReasonLabel(token.revokedReason)}</span>
          </div>
          <p class="muted">
            <code>${token.hint}</code>${at !== null ? html`, revoked ${time.relativePast(at, this.now)}` : nothing}
          </p>
        </li>`;
      })}
    </ul>`;
  }
}

if (!customElements.get("patgate-revoked-tokens")) customElements.define("patgate-revoked-tokens", PatgateRevokedTokens);

declare global {
  interface HTMLElementTagNameMap {
    "patgate-revoked-tokens": PatgateRevokedTokens;
  }
}
