/**
 * <patgate-service-accounts>: the organisation's service accounts (`GET
 * /org/service-accounts`): name, owners (the people accountable for it), roles,
 * status; **Create service account** (a dialog: Name, Description, Owners, Roles);
 * per account **Create token**, which tells the holder `service-token-request`
 * (detail: the account) — the holder opens the create dialog and shows the secret.
 * Owners are contacts, not managers: only administrators create its tokens.
 */
import { LitElement, css, html, nothing, type TemplateResult } from "lit";
import { live } from "lit/directives/live.js";
import { listOf, type AdminApi, type ServiceAccount, type ServiceAccountInput } from "./admin-api.js";
import { ApiError } from "./api.js";
import { announce, tell } from "./events.js";
import { formStyles } from "./form-styles.js";
import { describe, isSignedOut } from "./messages.js";
import { base } from "./styles.js";
import { tableStyles } from "./table-styles.js";

export const SERVICE_TOKEN_REQUEST = "service-token-request";
/** The session ended during a call (the holder signs out). */
export const SESSION_ENDED = "service-accounts-signed-out";

type Field = "name" | "description" | "owners" | "roles";

export class PatgateServiceAccounts extends LitElement {
  static styles = [
    base,
    tableStyles,
    formStyles,
    css`
      table {
        width: 100%;
      }
      td,
      th {
        vertical-align: top;
      }
      form {
        gap: 1rem;
      }
    `,
  ];

  static properties = {
    api: { attribute: false },
    accounts: { state: true },
    loadError: { state: true },
    loading: { state: true },
    form: { state: true },
    errors: { state: true },
    formError: { state: true },
    busy: { state: true },
  };

  declare api: AdminApi | null;
  declare accounts: ServiceAccount[];
  declare loadError: string;
  declare loading: boolean;
  declare form: Record<Field, string>;
  declare errors: Partial<Record<Field, string>>;
  declare formError: string;
  declare busy: boolean;

  constructor() {
    super();
    this.api = null;
    this.accounts = [];
    this.loadError = "";
    this.loading = false;
    this.form = { name: "", description: "", owners: "", roles: "" };
    this.errors = {};
    this.formError = "";
    this.busy = false;
  }

  /** Loads every page of service accounts. */
  async load(): Promise<void> {
    if (!this.api) return;
    this.loading = true;
    try {
      const found: ServiceAccount[] = [];
      let next: string | undefined;
      do {
        const page = await this.api.serviceAccounts(next);
        found.push(...(Array.isArray(page.serviceAccounts) ? page.serviceAccounts : []));
        next = page.nextToken || undefined;
      } while (next);
      this.accounts = found.sort((a, b) => a.name.localeCompare(b.name));
      this.loadError = "";
    } catch (error) {
      if (this.signedOut(error)) return;
      this.loadError = `The service accounts could not be loaded. ${describe(error)}`;
    } finally {
      this.loading = false;
    }
  }

  private signedOut(error: unknown): boolean {
    if (!isSignedOut(error)) return false;
    this.dialog?.close();
    tell(this, SESSION_ENDED, null);
    return true;
  }

  private get dialog(): HTMLDialogElement | null {
    return this.renderRoot.querySelector("#account-dialog");
  }

  private openCreate(): void {
    this.form = { name: "", description: "", owners: "", roles: "" };
    this.errors = {};
    this.formError = "";
    this.dialog?.showModal();
  }

  private set(field: Field, value: string): void {
    this.form = { ...this.form, [field]: value };
    if (this.errors[field]) this.errors = { ...this.errors, [field]: undefined };
  }

  private checked(): ServiceAccountInput | null {
    const errors: Partial<Record<Field, string>> = {};
    const name = this.form.name.trim();
    const owners = listOf(this.form.owners);
    const roles = listOf(this.form.roles);
    if (!name) errors.name = "Enter a name.";
    if (owners.length === 0) errors.owners = "Name at least one owner (a user id).";
    if (roles.length === 0) errors.roles = "Name at least one role.";
    this.errors = errors;
    if (Object.keys(errors).length > 0) return null;
    const description = this.form.description.trim();
    return { name, owners, roles, ...(description ? { description } : {}) };
  }

  private async create(event: Event): Promise<void> {
    event.preventDefault();
    if (this.busy || !this.api) return;
    const input = this.checked();
    if (!input) {
      await this.updateComplete;
      this.renderRoot.querySelector<HTMLElement>("[aria-invalid=true]")?.focus();
      return;
    }
    this.busy = true;
    this.formError = "";
    try {
      const created = await this.api.createServiceAccount(input);
      this.dialog?.close();
      this.accounts = [...this.accounts.filter((a) => a.id !== created.id), created].sort((a, b) =>
        a.name.localeCompare(b.name),
      );
      announce(this, `Service account “${created.name}” created.`);
      await this.updateComplete;
      this.renderRoot.querySelector<HTMLElement>(`#token-for-${CSS.escape(created.id)}`)?.focus();
    } catch (error) {
      if (this.signedOut(error)) return;
      const field = error instanceof ApiError ? (error.field as Field | undefined) : undefined;
      if (field && field in this.form) {
        this.errors = { ...this.errors, [field]: describe(error) };
        await this.updateComplete;
        this.renderRoot.querySelector<HTMLElement>(`#sa-${field}`)?.focus();
      } else {
        this.formError = `The service account was not created. ${describe(error)}`;
      }
    } finally {
      this.busy = false;
    }
  }

  private field(id: Field, label: string, hint: string, multiline = false): TemplateResult {
    const error = this.errors[id];
    const described = [hint ? `sa-${id}-hint` : "", error ? `sa-${id}-error` : ""].filter(Boolean).join(" ");
    const input = (e: Event) => this.set(id, (e.target as HTMLInputElement).value);
    return html`<div class="field">
      <label for="sa-${id}">${label}</label>
      ${multiline
        ? html`<textarea id="sa-${id}" aria-describedby=${described || nothing} .value=${live(this.form[id])} @input=${input}></textarea>`
        : html`<input
            id="sa-${id}"
            type="text"
            autocomplete="off"
            spellcheck="false"
            aria-invalid=${error ? "true" : "false"}
            aria-describedby=${described || nothing}
            .value=${live(this.form[id])}
            @input=${input}
          />`}
      ${hint ? html`<p class="hint" id="sa-${id}-hint">${hint}</p>` : nothing}
      ${error ? html`<p class="field-error" id="sa-${id}-error">${error}</p>` : nothing}
    </div>`;
  }

  private renderDialog(): TemplateResult {
    return html`<dialog id="account-dialog" aria-labelledby="account-title">
      <form class="body" novalidate @submit=${this.create}>
        <h2 id="account-title">Create a service account</h2>
        ${this.field("name", "Name", "")} ${this.field("description", "Description (optional)", "", true)}
        ${this.field("owners", "Owners", "User ids of the people accountable for it, separated by commas.")}
        ${this.field("roles", "Roles", "Role names of the permission configuration, separated by commas (for example Viewer).")}
        ${this.formError ? html`<p class="message error" role="alert">${this.formError}</p>` : nothing}
        <div class="actions">
          <button type="submit" class="primary" aria-disabled=${this.busy ? "true" : "false"}>Create service account</button>
          <button type="button" @click=${() => this.dialog?.close()}>Cancel</button>
        </div>
      </form>
    </dialog>`;
  }

  private renderRow(account: ServiceAccount): TemplateResult {
    return html`<tr role="row" id="account-${account.id}">
      <th role="rowheader" scope="row">
        <span class="name" id="account-name-${account.id}">${account.name}</span>
        ${account.description ? html`<span class="desc">${account.description}</span>` : nothing}
        <span class="sub"><code>${account.id}</code></span>
      </th>
      <td role="cell"><span class="cell-label" aria-hidden="true">Owners</span>${account.owners.join(", ")}</td>
      <td role="cell"><span class="cell-label" aria-hidden="true">Roles</span>${account.roles.join(", ")}</td>
      <td role="cell">
        <span class="cell-label" aria-hidden="true">Status</span>
        ${account.active ? "Active" : "Inactive"}
        ${account.orphaned ? html`<span class="badge">No active owner</span>` : nothing}
      </td>
      <td role="cell" class="actions">
        <button
          type="button"
          class="small"
          id="token-for-${account.id}"
          aria-describedby="account-name-${account.id}"
          ?disabled=${!account.active}
          @click=${() => tell(this, SERVICE_TOKEN_REQUEST, account)}
        >
          Create token
        </button>
      </td>
    </tr>`;
  }

  render(): TemplateResult {
    return html`<div class="section-head">
        <h2 id="accounts-heading">Service accounts</h2>
        <div class="actions">
          <button type="button" class="primary" id="create-account" @click=${this.openCreate}>Create service account</button>
        </div>
      </div>
      <p class="muted">
        Tokens for automation that no person owns. Owners are the people accountable for an account; only administrators
        create its tokens.
      </p>
      ${this.loadError
        ? html`<div class="message error" role="alert">
            <p>${this.loadError}</p>
            <div class="actions"><button type="button" @click=${() => this.load()}>Try again</button></div>
          </div>`
        : nothing}
      ${this.loading && this.accounts.length === 0
        ? html`<p class="muted">Loading service accounts…</p>`
        : this.accounts.length === 0
          ? html`<p class="empty">No service accounts yet.</p>`
          : html`<table role="table" aria-label="Service accounts">
              <thead>
                <tr role="row">
                  <th role="columnheader" scope="col">Name</th>
                  <th role="columnheader" scope="col">Owners</th>
                  <th role="columnheader" scope="col">Roles</th>
                  <th role="columnheader" scope="col">Status</th>
                  <th role="columnheader" scope="col"><span class="visually-hidden">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                ${this.accounts.map((a) => this.renderRow(a))}
              </tbody>
            </table>`}
      ${this.renderDialog()}`;
  }
}

if (!customElements.get("patgate-service-accounts")) {
  customElements.define("patgate-service-accounts", PatgateServiceAccounts);
}

declare global {
  interface HTMLElementTagNameMap {
    "patgate-service-accounts": PatgateServiceAccounts;
  }
}
