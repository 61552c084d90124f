/**
 * <patgate-token-form>: the modal dialog "Create a token" (Name, Description,
 * Expiration date, Time zone, Permissions; Create token). It checks what it can
 * before sending, sends through its holder's `submit` and shows a refusal where it
 * belongs. It keeps what was typed until a create succeeds (then it resets), so that
 * a session that ends mid-create loses nothing: `draft` reads it, `resume()` brings it
 * back. Tells its holder `token-created` (detail: the created token, with its secret)
 * and `token-form-closed` (detail: {created}).
 */
import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import type { CreateRequest, CreatedToken, Limits } from "./api.js";
import {
  FIELD_ORDER,
  createFailure,
  createRequest,
  maxLifetimeDays,
  validate,
  type CreateDraft,
  type FieldErrors,
} from "./create-rules.js";
import { RELOAD_REQUEST, announce, tell } from "./events.js";
import { dateFields, nameFields, permissionsField } from "./form-fields.js";
import { formStyles } from "./form-styles.js";
import { isSignedOut } from "./messages.js";
import { base } from "./styles.js";
import * as time from "./time.js";

export const CREATED = "token-created";
export const FORM_CLOSED = "token-form-closed";

export class PatgateTokenForm extends LitElement {
  static styles = [base, formStyles];

  static properties = {
    limits: { attribute: false },
    permissions: { attribute: false },
    personZone: { type: String, attribute: "person-zone" },
    now: { type: Number },
    submit: { attribute: false },
    name: { state: true },
    description: { state: true },
    expiresOn: { state: true },
    timeZone: { state: true },
    permissionMode: { state: true },
    chosen: { state: true },
    fieldErrors: { state: true },
    formError: { state: true },
    notice: { state: true },
    submitting: { state: true },
    opened: { state: true },
  };

  declare limits: Limits | null;
  /** What the person may give a token (the picker); none: no picker. */
  declare permissions: string[];
  declare personZone: string;
  declare now: number;
  /** Sends the create; rejects with the API's error. */
  declare submit: ((request: CreateRequest) => Promise<CreatedToken>) | undefined;
  declare name: string;
  declare description: string;
  declare expiresOn: string;
  declare timeZone: string;
  declare permissionMode: "all" | "some";
  declare chosen: string[];
  declare fieldErrors: FieldErrors;
  declare formError: string;
  declare notice: string;
  declare submitting: boolean;
  declare opened: boolean;

  /** The IANA zone list: built when the dialog first opens (it is the bulk of a render). */
  private zones: string[] = [];
  private dateTouched = false;
  private touched = false;
  private focusAfter: string | null = null;
  /** The dialog is closing because a token was created (focus then goes to the new secret). */
  private closingCreated = false;

  constructor() {
    super();
    this.limits = null;
    this.permissions = [];
    this.personZone = "UTC";
    this.now = Date.now();
    this.submit = undefined;
    this.fieldErrors = {};
    this.formError = "";
    this.notice = "";
    this.submitting = false;
    this.opened = false;
    this.reset();
  }

  /** Back to an empty form: default date and the person's zone. */
  reset(): void {
    this.name = "";
    this.description = "";
    this.timeZone = this.personZone;
    this.dateTouched = false;
    this.touched = false;
    this.expiresOn = time.defaultExpiry(this.timeZone, this.now, this.maxDays);
    this.permissionMode = "all";
    this.chosen = [];
    this.fieldErrors = {};
    this.formError = "";
    this.notice = "";
  }

  /** What was typed or chosen; null while the form is untouched. */
  get draft(): CreateDraft | null {
    return this.touched ? this.current() : null;
  }

  private current(): CreateDraft {
    return {
      name: this.name,
      description: this.description,
      expiresOn: this.expiresOn,
      timeZone: this.timeZone,
      permissions: this.permissionMode === "some" ? [...this.chosen] : null,
    };
  }

  /** Opens the dialog on `draft` (kept from a session that ended), saying so. */
  resume(draft: CreateDraft, note: string): void {
    this.name = draft.name;
    this.description = draft.description;
    this.timeZone = time.isKnownZone(draft.timeZone) ? draft.timeZone : this.personZone;
    this.expiresOn = draft.expiresOn;
    this.dateTouched = true;
    this.permissionMode = Array.isArray(draft.permissions) ? "some" : "all";
    this.chosen = Array.isArray(draft.permissions) ? [...draft.permissions] : [];
    this.touched = true;
    this.notice = note;
    this.open("#create-submit");
  }

  /** Opens the dialog; focus goes to the Name field (or `focus`, a selector). */
  open(focus = "#name"): void {
    if (this.zones.length === 0) this.zones = time.zoneList(this.personZone, this.timeZone);
    this.opened = true;
    this.focusAfter = focus;
  }

  close(): void {
    this.opened = false; // before the close event: an update meanwhile must not reopen it
    this.dialog?.close();
  }

  private get dialog(): HTMLDialogElement | null {
    return this.renderRoot?.querySelector("dialog") ?? null;
  }

  private get maxDays(): number {
    return maxLifetimeDays(this.limits);
  }

  protected willUpdate(changed: PropertyValues<this>): void {
    if ((changed.has("now") || changed.has("limits")) && !this.dateTouched) {
      // The untouched default keeps in step with the calendar and the server's longest lifetime.
      this.expiresOn = time.defaultExpiry(this.timeZone, this.now, this.maxDays);
    }
    if (changed.has("personZone") && !this.touched) {
      this.timeZone = this.personZone;
      this.expiresOn = time.defaultExpiry(this.timeZone, this.now, this.maxDays);
    }
  }

  protected updated(): void {
    const dialog = this.dialog;
    if (this.opened && dialog && !dialog.open) dialog.showModal();
    if (this.focusAfter) {
      const target = this.renderRoot.querySelector<HTMLElement>(this.focusAfter);
      this.focusAfter = null;
      target?.focus();
    }
  }

  /** Keeps a field's value and clears its error. */
  private set<K extends "name" | "description" | "expiresOn" | "timeZone">(field: K, value: string): void {
    this[field] = value;
    this.touched = true;
    if (field === "expiresOn") this.dateTouched = true;
    if (field === "timeZone" && !this.dateTouched) this.expiresOn = time.defaultExpiry(value, this.now, this.maxDays);
    this.clearError(field);
  }

  private clearError(field: string): void {
    if (this.fieldErrors[field]) {
      const rest = { ...this.fieldErrors };
      delete rest[field];
      this.fieldErrors = rest;
    }
  }

  private showErrors(errors: FieldErrors): void {
    this.fieldErrors = errors;
    const first = FIELD_ORDER.find((field) => errors[field]);
    this.focusAfter = first ? `#${first}` : "#form-error";
  }

  private async onSubmit(event: Event): Promise<void> {
    event.preventDefault();
    if (this.submitting || !this.submit) return; // a double submit never sends twice
    const draft = this.current();
    const errors = validate(draft, this.now, this.maxDays);
    this.formError = "";
    if (Object.keys(errors).length > 0) {
      this.showErrors(errors);
      const count = Object.keys(errors).length;
      announce(this, `The token was not created: ${count === 1 ? "1 field needs" : `${count} fields need`} attention.`);
      return;
    }
    this.fieldErrors = {};
    this.submitting = true;
    announce(this, "Creating the token…");
    try {
      const created = await this.submit(createRequest(draft));
      this.reset();
      this.closingCreated = true;
      this.close();
      tell(this, CREATED, created);
    } catch (error) {
      if (isSignedOut(error)) return; // the holder signs out; what was typed stays in `draft`
      const failure = createFailure(error, this.limits);
      if (failure.field) {
        this.showErrors({ [failure.field]: failure.message });
        announce(this, `The token was not created: ${failure.message}`);
        return;
      }
      this.formError = failure.message;
      this.focusAfter = "#form-error";
      announce(this, failure.message);
      if (failure.reload) tell(this, RELOAD_REQUEST, null);
    } finally {
      this.submitting = false;
    }
  }

  private onClose(): void {
    this.opened = false;
    this.notice = "";
    // What was typed stays for the next opening; what was said about it does not.
    this.formError = "";
    this.fieldErrors = {};
    tell(this, FORM_CLOSED, { created: this.closingCreated });
    this.closingCreated = false;
  }

  render(): TemplateResult {
    return html`<dialog
      id="create-dialog"
      aria-labelledby="create-title"
      @close=${this.onClose}
      @cancel=${(e: Event) => this.submitting && e.preventDefault()}
    >
      ${this.opened ? this.renderForm() : nothing}
    </dialog>`;
  }

  private renderForm(): TemplateResult {
    const fields = {
      name: this.name,
      description: this.description,
      expiresOn: this.expiresOn,
      timeZone: this.timeZone,
      personZone: this.personZone,
      now: this.now,
      maxDays: this.maxDays,
      zones: this.zones,
      errors: this.fieldErrors,
      set: (field: "name" | "description" | "expiresOn" | "timeZone", value: string) => this.set(field, value),
    };
    return html`<form class="body" novalidate @submit=${this.onSubmit}>
      <h2 id="create-title">Create a token</h2>
      ${this.notice ? html`<p class="notice" role="status">${this.notice}</p>` : nothing}
      ${nameFields(fields)} ${dateFields(fields)}
      ${this.permissions.length > 0
        ? permissionsField({
            offered: this.permissions,
            some: this.permissionMode === "some",
            chosen: this.chosen,
            error: this.fieldErrors.permissions,
            mode: (mode) => {
              this.permissionMode = mode;
              this.touched = true;
              if (mode === "all") this.clearError("permissions");
            },
            choose: (permission, on) => {
              const rest = this.chosen.filter((p) => p !== permission);
              this.chosen = on ? [...rest, permission] : rest;
              this.touched = true;
              this.clearError("permissions");
            },
          })
        : nothing}
      <div class="message error" id="form-error" role="alert" tabindex="-1" ?hidden=${!this.formError}>
        ${this.formError}
      </div>
      <div class="actions">
        <button type="button" @click=${() => this.close()}>Cancel</button>
        <button id="create-submit" type="submit" class="primary" aria-disabled=${this.submitting ? "true" : "false"}>
          Create token
        </button>
        ${this.submitting ? html`<span class="muted">Creating…</span>` : nothing}
      </div>
    </form>`;
  }
}

if (!customElements.get("patgate-token-form")) customElements.define("patgate-token-form", PatgateTokenForm);

declare global {
  interface HTMLElementTagNameMap {
    "patgate-token-form": PatgateTokenForm;
  }
}
