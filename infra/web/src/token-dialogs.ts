/**
 * The confirmation dialogs of a token row.
 *
 * <patgate-revoke-dialog>: `ask(token)` resolves true for "Revoke token", false for
 * Cancel or Esc (Cancel has focus: the safe choice).
 *
 * <patgate-rotate-dialog>: `open(token)` asks for the old secret's grace period (1
 * hour by default, so that what uses the token keeps working while it is updated),
 * rotates through its holder's `rotate`, and tells `token-rotated` (detail: the token
 * with its new secret) or shows why not. Both tell `token-dialog-closed` (detail:
 * {id, action}) when closed without acting, for focus to go back to the row.
 */
import { LitElement, html, nothing, type TemplateResult } from "lit";
import { live } from "lit/directives/live.js";
import { ApiError, type CreatedToken, type RotateRequest, type Token } from "./api.js";
import { RELOAD_REQUEST, tell } from "./events.js";
import { durationLabel } from "./format.js";
import { isSignedOut, rotateFailure } from "./messages.js";
import { base } from "./styles.js";
import { graceChoices } from "./rotation.js";

export const ROTATED = "token-rotated";
export const DIALOG_CLOSED = "token-dialog-closed";
export class PatgateRevokeDialog extends LitElement {
  static styles = base;
  static properties = { token: { state: true } };
  declare token: Token | null;
  private answer: ((revoke: boolean) => void) | null = null;

  constructor() {
    super();
    this.token = null;
  }

  /** Asks to confirm; true: revoke. */
  async ask(token: Token): Promise<boolean> {
    this.answer?.(false);
    this.token = token;
    await this.updateComplete;
    this.renderRoot.querySelector("dialog")?.showModal();
    return new Promise((resolve) => (this.answer = resolve));
  }

  private settle(revoke: boolean): void {
    const answer = this.answer;
    const token = this.token;
    this.answer = null;
    this.renderRoot.querySelector("dialog")?.close();
    this.token = null;
    answer?.(revoke);
    if (!revoke && token) tell(this, DIALOG_CLOSED, { id: token.id, action: "revoke" });
  }

  render(): TemplateResult {
    const token = this.token;
    return html`<dialog
      id="revoke-dialog"
      aria-labelledby="revoke-title"
      aria-describedby="revoke-text"
      @close=${() => this.answer && this.settle(false)}
    >
      ${token
        ? html`<div class="body">
            <h2 id="revoke-title">Revoke “${token.name}”?</h2>
            <p id="revoke-text">
              Scripts and tools using this token (<code>${token.hint}</code>) stop working. This cannot be undone.
            </p>
            <div class="actions">
              <button type="button" autofocus @click=${() => this.settle(false)}>Cancel</button>
              <button type="button" class="danger solid" @click=${() => this.settle(true)}>Revoke token</button>
            </div>
          </div>`
        : nothing}
    </dialog>`;
  }
}

export class PatgateRotateDialog extends LitElement {
  static styles = base;
  static properties = {
    maxGraceSeconds: { type: Number, attribute: "max-grace-seconds" },
    rotate: { attribute: false },
    token: { state: true },
    grace: { state: true },
    error: { state: true },
    busy: { state: true },
  };

  declare maxGraceSeconds: number | undefined;
  /** Sends the rotation; rejects with the API's error. */
  declare rotate: ((id: string, request: RotateRequest) => Promise<CreatedToken>) | undefined;
  declare token: Token | null;
  declare grace: number;
  declare error: string;
  declare busy: boolean;

  constructor() {
    super();
    this.maxGraceSeconds = undefined;
    this.rotate = undefined;
    this.token = null;
    this.grace = graceChoices(undefined).preferred;
    this.error = "";
    this.busy = false;
  }

  async open(token: Token): Promise<void> {
    this.token = token;
    this.error = "";
    this.grace = graceChoices(this.maxGraceSeconds).preferred;
    await this.updateComplete;
    this.dialog?.showModal();
    // The dialog would focus the first choice (none); focus goes to the one selected.
    this.renderRoot.querySelector<HTMLInputElement>("input[name=grace]:checked")?.focus();
  }

  private get dialog(): HTMLDialogElement | null {
    return this.renderRoot.querySelector("dialog");
  }

  private onClose(): void {
    const token = this.token;
    this.token = null;
    this.error = "";
    if (token) tell(this, DIALOG_CLOSED, { id: token.id, action: "rotate" });
  }

  private async confirm(event: Event): Promise<void> {
    event.preventDefault();
    const token = this.token;
    if (!token || this.busy || !this.rotate) return;
    this.busy = true;
    this.error = "";
    try {
      const created = await this.rotate(token.id, this.grace > 0 ? { graceSeconds: this.grace } : {});
      this.token = null; // closed by acting: no "closed" news
      this.dialog?.close();
      tell(this, ROTATED, created);
    } catch (error) {
      if (isSignedOut(error)) {
        this.token = null;
        this.dialog?.close();
        return;
      }
      this.error = rotateFailure(error);
      if (error instanceof ApiError && error.status === 409) tell(this, RELOAD_REQUEST, null);
    } finally {
      this.busy = false;
    }
  }

  render(): TemplateResult {
    const token = this.token;
    const { choices } = graceChoices(this.maxGraceSeconds);
    return html`<dialog id="rotate-dialog" aria-labelledby="rotate-title" @close=${this.onClose}>
      ${token
        ? html`<form class="body" novalidate @submit=${this.confirm}>
            <h2 id="rotate-title">Rotate “${token.name}”?</h2>
            <p>
              A new token replaces this one, and is shown once. The old one stops working after the grace period: time
              to update what uses it.
            </p>
            <fieldset>
              <legend>Grace period for the old token</legend>
              ${choices.map(
                (seconds) => html`<label class="choice">
                  <input
                    type="radio"
                    name="grace"
                    value=${seconds}
                    .checked=${live(this.grace === seconds)}
                    @change=${() => (this.grace = seconds)}
                  />
                  ${seconds === 0 ? "None: it stops working at once" : durationLabel(seconds)}
                </label>`,
              )}
            </fieldset>
            ${this.error ? html`<p class="message error" role="alert">${this.error}</p>` : nothing}
            <div class="actions">
              <button type="button" @click=${() => this.dialog?.close()}>Cancel</button>
              <button type="submit" class="primary" aria-disabled=${this.busy ? "true" : "false"}>Rotate token</button>
            </div>
          </form>`
        : nothing}
    </dialog>`;
  }
}

for (const [name, element] of [
  ["patgate-revoke-dialog", PatgateRevokeDialog],
  ["patgate-rotate-dialog", PatgateRotateDialog],
] as const) {
  if (!customElements.get(name)) customElements.define(name, element);
}

declare global {
  interface HTMLElementTagNameMap {
    "patgate-revoke-dialog": PatgateRevokeDialog;
    "patgate-rotate-dialog": PatgateRotateDialog;
  }
}
