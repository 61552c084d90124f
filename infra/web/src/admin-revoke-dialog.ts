/**
 * <patgate-admin-revoke-dialog>: an administrator confirms revoking someone's token.
 * `ask(token)` resolves `{note}` for "Revoke token" (the note may be empty), null for
 * Cancel or Esc (Cancel has focus: the safe choice). The token is revoked with the
 * reason "revoked by an administrator"; the note (≤ 500 characters) is kept with it.
 * Tells `token-dialog-closed` (detail {id, action: "revoke"}) when closed without acting.
 */
import { LitElement, html, nothing, type TemplateResult } from "lit";
import { live } from "lit/directives/live.js";
import type { Token } from "./api.js";
import { tell } from "./events.js";
import { formStyles } from "./form-styles.js";
import { base } from "./styles.js";
import { DIALOG_CLOSED } from "./token-dialogs.js";

export const MAX_NOTE_CHARS = 500;

export class PatgateAdminRevokeDialog extends LitElement {
  static styles = [base, formStyles];
  static properties = { token: { state: true }, note: { state: true } };
  declare token: Token | null;
  declare note: string;
  private answer: ((result: { note: string } | null) => void) | null = null;

  constructor() {
    super();
    this.token = null;
    this.note = "";
  }

  /** Asks to confirm; `{note}`: revoke. */
  async ask(token: Token): Promise<{ note: string } | null> {
    this.answer?.(null);
    this.token = token;
    this.note = "";
    await this.updateComplete;
    this.renderRoot.querySelector("dialog")?.showModal();
    return new Promise((resolve) => (this.answer = resolve));
  }

  private settle(revoke: boolean): void {
    const answer = this.answer;
    const token = this.token;
    const note = this.note.trim();
    this.answer = null;
    this.renderRoot.querySelector("dialog")?.close();
    this.token = null;
    answer?.(revoke ? { note } : null);
    if (!revoke && token) tell(this, DIALOG_CLOSED, { id: token.id, action: "revoke" });
  }

  render(): TemplateResult {
    const token = this.token;
    const owner = token?.ownerKind === "service" ? `service account ${token.ownerId}` : token?.ownerId;
    return html`<dialog
      id="admin-revoke-dialog"
      aria-labelledby="admin-revoke-title"
      aria-describedby="admin-revoke-text"
      @close=${() => this.answer && this.settle(false)}
    >
      ${token
        ? html`<form
            class="body"
            novalidate
            @submit=${(e: Event) => {
              e.preventDefault();
              this.settle(true);
            }}
          >
            <h2 id="admin-revoke-title">Revoke “${token.name}” of ${owner}?</h2>
            <p id="admin-revoke-text">
              Scripts and tools using this token (<code>${token.hint}</code>) stop working within seconds. Its owner sees
              it as revoked by an administrator. This cannot be undone.
            </p>
            <div class="field">
            <label for="admin-revoke-note">Note for the record (optional)</label>
            <textarea
              id="admin-revoke-note"
              maxlength=${MAX_NOTE_CHARS}
              aria-describedby="admin-revoke-note-hint"
              .value=${live(this.note)}
              @input=${(e: Event) => (this.note = (e.target as HTMLTextAreaElement).value)}
            ></textarea>
            <p class="hint" id="admin-revoke-note-hint">
              Why it is revoked, kept with the revoked token (at most ${MAX_NOTE_CHARS} characters;
              ${MAX_NOTE_CHARS - this.note.length} left).
            </p>
            </div>
            <div class="actions">
              <button type="button" autofocus @click=${() => this.settle(false)}>Cancel</button>
              <button type="submit" class="danger solid">Revoke token</button>
            </div>
          </form>`
        : nothing}
    </dialog>`;
  }
}

if (!customElements.get("patgate-admin-revoke-dialog")) {
  customElements.define("patgate-admin-revoke-dialog", PatgateAdminRevokeDialog);
}

declare global {
  interface HTMLElementTagNameMap {
    "patgate-admin-revoke-dialog": PatgateAdminRevokeDialog;
  }
}
