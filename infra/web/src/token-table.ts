/**
 * <patgate-token-table>: a compact table of tokens with search, filters and sort
 * orders. It draws what it is given and tells its holder what the person asks for
 * (`token-rotate`, `token-revoke`, detail: the token); it calls no API. Wide, it is a
 * table with a sticky header; narrow (its own width, a container query), each row
 * becomes a block with labelled values, the table's semantics kept by explicit roles.
 */
import { LitElement, html, nothing, type TemplateResult } from "lit";
import { live } from "lit/directives/live.js";
import { repeat } from "lit/directives/repeat.js";
import type { Token } from "./api.js";
import { tell } from "./events.js";
import { countLabel } from "./messages.js";
import { base } from "./styles.js";
import { tableStyles } from "./table-styles.js";
import { COLUMNS, tokenRow } from "./token-row.js";
import { SORT_ORDERS, TOKEN_FILTERS, sortedColumn, tokensInView, type SortOrder, type TokenFilter } from "./token-view.js";

export const ROTATE_REQUEST = "token-rotate";
export const REVOKE_REQUEST = "token-revoke";

export class PatgateTokenTable extends LitElement {
  static styles = [base, tableStyles];

  static properties = {
    tokens: { attribute: false },
    now: { type: Number },
    zone: { type: String },
    label: { type: String },
    canRotate: { type: Boolean, attribute: "can-rotate" },
    rowErrors: { attribute: false },
    filters: { attribute: false },
    query: { state: true },
    chosen: { state: true },
    order: { state: true },
  };

  declare tokens: Token[];
  declare now: number;
  declare zone: string;
  /** The table's accessible name. */
  declare label: string;
  declare canRotate: boolean;
  declare rowErrors: Record<string, string>;
  /** The filters offered (those of "My access tokens" unless set). */
  declare filters: TokenFilter[];
  declare query: string;
  declare chosen: Set<string>;
  declare order: SortOrder;

  private shown: Token[] = [];

  constructor() {
    super();
    this.tokens = [];
    this.now = Date.now();
    this.zone = "UTC";
    this.label = "Tokens";
    this.canRotate = false;
    this.rowErrors = {};
    this.filters = TOKEN_FILTERS;
    this.query = "";
    this.chosen = new Set();
    this.order = "newest";
  }

  /** True when search or a filter hides some tokens. */
  get narrowed(): boolean {
    return this.query.trim() !== "" || this.chosen.size > 0;
  }

  /** The tokens on screen, in their order. */
  get visible(): readonly Token[] {
    return this.shown;
  }

  /** Focuses the row of token `id`; false if it is not on screen (search or filters hide it). */
  async focusRow(id: string): Promise<boolean> {
    await this.updateComplete;
    const row = this.renderRoot.querySelector<HTMLElement>(`#token-${CSS.escape(id)}`);
    row?.focus();
    return row !== null;
  }

  /** Focuses a row's Rotate or Revoke button; false if it is not on screen. */
  async focusAction(id: string, action: "rotate" | "revoke"): Promise<boolean> {
    await this.updateComplete;
    const button = this.renderRoot.querySelector<HTMLElement>(`#${action}-${CSS.escape(id)}`);
    button?.focus();
    return button !== null;
  }

  /** Clears search and filters (the sort order stays). */
  clear(): void {
    this.query = "";
    this.chosen = new Set();
  }

  private toggle(id: string, on: boolean): void {
    const next = new Set(this.chosen);
    if (on) next.add(id);
    else next.delete(id);
    this.chosen = next;
  }

  protected willUpdate(): void {
    this.shown = tokensInView(this.tokens, { query: this.query, filters: this.chosen, order: this.order }, this.now, this.filters);
  }

  render(): TemplateResult {
    const offered = this.filters.filter((f) => !f.offered || f.offered(this.tokens) || this.chosen.has(f.id));
    return html`
      <div class="toolbar">
        <div class="field search">
          <label for="search">Search by name or description</label>
          <input
            id="search"
            type="search"
            autocomplete="off"
            spellcheck="false"
            .value=${live(this.query)}
            @input=${(e: Event) => (this.query = (e.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field sort">
          <label for="sort">Sort by</label>
          <select id="sort" @change=${(e: Event) => (this.order = (e.target as HTMLSelectElement).value as SortOrder)}>
            ${SORT_ORDERS.map((o) => html`<option value=${o.id} ?selected=${o.id === this.order}>${o.label}</option>`)}
          </select>
        </div>
        <fieldset class="filters">
          <legend>Show only</legend>
          ${offered.map(
            (f) => html`<label class="chip">
              <input
                type="checkbox"
                .checked=${this.chosen.has(f.id)}
                @change=${(e: Event) => this.toggle(f.id, (e.target as HTMLInputElement).checked)}
              />
              ${f.label}
            </label>`,
          )}
        </fieldset>
      </div>
      <p class="result-count" role="status">
        ${this.narrowed ? `Showing ${this.shown.length} of ${countLabel(this.tokens.length)}.` : ""}
      </p>
      ${this.shown.length === 0 ? this.renderNoMatch() : this.renderTable()}
    `;
  }

  private renderNoMatch(): TemplateResult {
    return html`<div class="no-match">
      <p>No token matches the search and filters.</p>
      <button type="button" class="small" @click=${this.clear}>Clear search and filters</button>
    </div>`;
  }

  private renderTable(): TemplateResult {
    const sorted = sortedColumn(this.order);
    const sortOf = (key: string) =>
      (key === "created" || key === "expires" || key === "used") && sorted.column === key ? sorted.direction : nothing;
    const ctx = {
      now: this.now,
      zone: this.zone,
      canRotate: this.canRotate,
      onRotate: (token: Token) => tell(this, ROTATE_REQUEST, token),
      onRevoke: (token: Token) => tell(this, REVOKE_REQUEST, token),
    };
    return html`<table role="table" aria-label=${this.label}>
      <thead>
        <tr role="row">
          ${COLUMNS.map(
            (c) => html`<th role="columnheader" scope="col" class=${c.key} aria-sort=${sortOf(c.key)}>
              ${c.key === "actions" ? html`<span class="visually-hidden">${c.label}</span>` : c.label}
            </th>`,
          )}
        </tr>
      </thead>
      <tbody>
        ${repeat(
          this.shown,
          (token) => token.id,
          (token) => tokenRow(token, { ...ctx, error: this.rowErrors[token.id] }),
        )}
      </tbody>
    </table>`;
  }
}

if (!customElements.get("patgate-token-table")) customElements.define("patgate-token-table", PatgateTokenTable);

declare global {
  interface HTMLElementTagNameMap {
    "patgate-token-table": PatgateTokenTable;
  }
}
