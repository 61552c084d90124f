/**
 * <patgate-token-reveal>: a new (or rotated) token's secret, once: the read-only
 * field "New token", Copy, and Done, which tells the holder `token-reveal-done`; the
 * holder then drops the secret from its state, and this panel leaves the DOM.
 */
import { LitElement, html, nothing, type TemplateResult } from "lit";
import { live } from "lit/directives/live.js";
import { tell } from "./events.js";
import { base } from "./styles.js";
import * as time from "./time.js";

export const REVEAL_DONE = "token-reveal-done";

export interface Reveal {
  id: string;
  name: string;
  token: string;
  expiresOn: string;
  timeZone: string;
  rotated: boolean;
  permissions?: string[] | null;
}

export class PatgateTokenReveal extends LitElement {
  static styles = base;

  static properties = {
    reveal: { attribute: false },
    copyStatus: { state: true },
  };

  declare reveal: Reveal | null;
  declare copyStatus: string;

  constructor() {
    super();
    this.reveal = null;
    this.copyStatus = "";
  }

  /** Focuses and selects the secret. */
  async focusSecret(): Promise<void> {
    await this.updateComplete;
    const input = this.input;
    input?.focus();
    input?.select();
  }

  private get input(): HTMLInputElement | null {
    return this.renderRoot.querySelector<HTMLInputElement>("#new-token");
  }

  private async copy(): Promise<void> {
    if (!this.reveal) return;
    try {
      if (!navigator.clipboard?.writeText) throw new Error("no clipboard");
      await navigator.clipboard.writeText(this.reveal.token);
      this.copyStatus = "Copied to the clipboard.";
    } catch {
      this.input?.focus();
      this.input?.select();
      this.copyStatus = "Copying was refused by the browser: the token is selected, press Ctrl+C (⌘C on a Mac).";
    }
  }

  protected willUpdate(): void {
    if (!this.reveal) this.copyStatus = "";
  }

  render(): TemplateResult | typeof nothing {
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
          and stops working on ${time.expiryLabel(reveal.expiresOn, reveal.timeZone)}.
        </p>
        <div class="actions">
          <button type="button" @click=${() => tell(this, REVEAL_DONE, reveal.id)}>Done</button>
        </div>
      </section>
    `;
  }
}

if (!customElements.get("patgate-token-reveal")) customElements.define("patgate-token-reveal", PatgateTokenReveal);

declare global {
  interface HTMLElementTagNameMap {
    "patgate-token-reveal": PatgateTokenReveal;
  }
}
