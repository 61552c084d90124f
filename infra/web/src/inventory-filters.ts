/**
 * <patgate-inventory-filters>: the inventory's own filters, those of `GET
 * /org/tokens` (the server applies them, over the whole organisation, not only the
 * page on screen): owner, people or service accounts, own permission list, expiring
 * within, unused for, never used. "Apply filters" tells `inventory-filters` (detail:
 * the filters); "Clear filters" tells it with none. A combination the API refuses is
 * said here, before any call.
 */
import { LitElement, css, html, nothing, type TemplateResult } from "lit";
import { live } from "lit/directives/live.js";
import { filterConflict, type InventoryFilters } from "./admin-api.js";
import { tell } from "./events.js";
import { formStyles } from "./form-styles.js";
import { base } from "./styles.js";

export const FILTERS_CHANGED = "inventory-filters";

const EXPIRING_CHOICES = [7, 30, 90];
const UNUSED_CHOICES = [30, 90, 180];

export class PatgateInventoryFilters extends LitElement {
  static styles = [
    base,
    formStyles,
    css`
      form {
        gap: 0.75rem;
        padding-bottom: 1rem;
        margin-bottom: 1rem;
        border-bottom: 1px solid var(--pg-border);
      }
      :host {
        display: block;
        container-type: inline-size;
      }
      .owner {
        grid-column: 1 / -1;
      }
      @container (min-width: 36rem) {
        .owner {
          grid-column: span 2;
        }
      }
      h3 {
        margin: 0;
        font-size: 1rem;
      }
      .grid {
        display: grid;
        gap: 0.75rem 1rem;
        grid-template-columns: repeat(auto-fill, minmax(min(100%, 9rem), 1fr));
        align-items: end;
      }
      .choice {
        min-height: 2.5rem;
        align-items: center;
      }
    `,
  ];

  static properties = {
    value: { attribute: false },
    draft: { state: true },
    error: { state: true },
  };

  /** The filters in force (what the list shows). */
  declare value: InventoryFilters;
  declare draft: InventoryFilters;
  declare error: string;

  constructor() {
    super();
    this.value = {};
    this.draft = {};
    this.error = "";
  }

  /** Sets the filters in force and the fields to them (e.g. "show this owner's tokens"). */
  show(filters: InventoryFilters): void {
    this.value = { ...filters };
    this.draft = { ...filters };
    this.error = "";
  }

  private set<K extends keyof InventoryFilters>(key: K, value: InventoryFilters[K]): void {
    this.draft = { ...this.draft, [key]: value };
    this.error = "";
  }

  private apply(event: Event): void {
    event.preventDefault();
    const conflict = filterConflict(this.draft);
    if (conflict) {
      this.error = conflict;
      void this.updateComplete.then(() => this.renderRoot.querySelector<HTMLElement>("#filters-error")?.focus());
      return;
    }
    this.value = { ...this.draft, owner: this.draft.owner?.trim() || undefined };
    tell(this, FILTERS_CHANGED, this.value);
  }

  private clear(): void {
    this.show({});
    tell(this, FILTERS_CHANGED, this.value);
  }

  private number(text: string): number | null {
    return text === "" ? null : Number(text);
  }

  render(): TemplateResult {
    const d = this.draft;
    return html`<form novalidate aria-labelledby="filters-legend" @submit=${this.apply}>
      <h3 id="filters-legend" class="filters-title">Filter the inventory</h3>
      <div class="grid">
        <div class="field owner">
          <label for="f-owner">Owner</label>
          <input
            id="f-owner"
            type="text"
            autocomplete="off"
            spellcheck="false"
            placeholder="a user or service account id"
            .value=${live(d.owner ?? "")}
            @input=${(e: Event) => this.set("owner", (e.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="f-kind">Owned by</label>
          <select id="f-kind" @change=${(e: Event) => this.set("ownerKind", (e.target as HTMLSelectElement).value as InventoryFilters["ownerKind"])}>
            <option value="" ?selected=${!d.ownerKind}>Anyone</option>
            <option value="user" ?selected=${d.ownerKind === "user"}>People</option>
            <option value="service" ?selected=${d.ownerKind === "service"}>Service accounts</option>
          </select>
        </div>
        <div class="field">
          <label for="f-scoped">Permissions</label>
          <select id="f-scoped" @change=${(e: Event) => this.set("scoped", (e.target as HTMLSelectElement).value as InventoryFilters["scoped"])}>
            <option value="" ?selected=${!d.scoped}>Any</option>
            <option value="true" ?selected=${d.scoped === "true"}>Limited (own list)</option>
            <option value="false" ?selected=${d.scoped === "false"}>All of the owner's</option>
          </select>
        </div>
        <div class="field">
          <label for="f-expiring">Expiring within</label>
          <select id="f-expiring" @change=${(e: Event) => this.set("expiringWithinDays", this.number((e.target as HTMLSelectElement).value))}>
            <option value="" ?selected=${d.expiringWithinDays == null}>Any time</option>
            ${EXPIRING_CHOICES.map((n) => html`<option value=${n} ?selected=${d.expiringWithinDays === n}>${n} days</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="f-unused">Unused for</label>
          <select id="f-unused" @change=${(e: Event) => this.set("unusedForDays", this.number((e.target as HTMLSelectElement).value))}>
            <option value="" ?selected=${!d.unusedForDays}>Any</option>
            ${UNUSED_CHOICES.map((n) => html`<option value=${n} ?selected=${d.unusedForDays === n}>${n}+ days</option>`)}
          </select>
        </div>
        <label class="choice">
          <input
            type="checkbox"
            .checked=${live(!!d.neverUsed)}
            @change=${(e: Event) => this.set("neverUsed", (e.target as HTMLInputElement).checked)}
          />
          Never used
        </label>
      </div>
      ${this.error
        ? html`<p class="message error" id="filters-error" role="alert" tabindex="-1">${this.error}</p>`
        : nothing}
      <div class="actions">
        <button type="submit" class="primary">Apply filters</button>
        <button type="button" @click=${this.clear}>Clear filters</button>
      </div>
    </form>`;
  }
}

if (!customElements.get("patgate-inventory-filters")) {
  customElements.define("patgate-inventory-filters", PatgateInventoryFilters);
}

declare global {
  interface HTMLElementTagNameMap {
    "patgate-inventory-filters": PatgateInventoryFilters;
  }
}
