/**
 * The create dialog's fields as template functions: name and description with their
 * counters, the date (spelled out next to the native picker, which shows the
 * browser's own format) with the zone and quick picks, and the permission picker.
 */
import { html, nothing, type TemplateResult } from "lit";
import { guard } from "lit/directives/guard.js";
import { live } from "lit/directives/live.js";
import { DESCRIPTION_MAX, NAME_MAX, type FieldErrors } from "./create-rules.js";
import { charCount } from "./format.js";
import * as time from "./time.js";

type TextField = "name" | "description" | "expiresOn" | "timeZone";

export interface FieldsState {
  name: string;
  description: string;
  expiresOn: string;
  timeZone: string;
  personZone: string;
  now: number;
  maxDays: number;
  zones: string[];
  errors: FieldErrors;
  set(field: TextField, value: string): void;
}

function describedBy(errors: FieldErrors, field: string, ...others: string[]): string {
  return [...others, errors[field] ? `${field}-error` : ""].filter(Boolean).join(" ");
}

function fieldError(errors: FieldErrors, field: string): TemplateResult | typeof nothing {
  const message = errors[field];
  return message ? html`<p class="field-error" id="${field}-error">${message}</p>` : nothing;
}

const valueOf = (e: Event) => (e.target as HTMLInputElement).value;

export function nameFields(s: FieldsState): TemplateResult {
  const nameCount = charCount(s.name);
  const descriptionCount = charCount(s.description);
  return html`<div class="field">
      <div class="label-line">
        <label for="name">Name</label>
        <span class="counter ${nameCount > NAME_MAX ? "over" : ""}" id="name-count">${nameCount}/${NAME_MAX}</span>
      </div>
      <input
        id="name"
        name="name"
        type="text"
        required
        maxlength=${NAME_MAX}
        autocomplete="off"
        .value=${live(s.name)}
        aria-invalid=${s.errors.name ? "true" : "false"}
        aria-describedby=${describedBy(s.errors, "name", "name-hint", "name-count")}
        @input=${(e: Event) => s.set("name", valueOf(e))}
      />
      <p class="hint" id="name-hint">Required. What the token is for, e.g. “ci-deploy”.</p>
      ${fieldError(s.errors, "name")}
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
        .value=${live(s.description)}
        aria-invalid=${s.errors.description ? "true" : "false"}
        aria-describedby=${describedBy(s.errors, "description", "description-hint", "description-count")}
        @input=${(e: Event) => s.set("description", valueOf(e))}
      ></textarea>
      <p class="hint" id="description-hint">Optional. Where and how it is used, to tell tokens apart.</p>
      ${fieldError(s.errors, "description")}
    </div>`;
}

export function dateFields(s: FieldsState): TemplateResult {
  const range = time.allowedRange(s.timeZone, s.now, s.maxDays);
  const picks = time.quickPicks(s.timeZone, s.now, s.maxDays);
  const valid = time.inRange(s.expiresOn, range);
  return html`<div class="field-row">
      <div class="field">
        <label for="expiresOn">Expiration date</label>
        <input
          id="expiresOn"
          name="expiresOn"
          type="date"
          required
          min=${range.min}
          max=${range.max}
          .value=${live(s.expiresOn)}
          aria-invalid=${s.errors.expiresOn ? "true" : "false"}
          aria-describedby=${describedBy(s.errors, "expiresOn", "expiresOn-day", "expiresOn-hint")}
          @input=${(e: Event) => s.set("expiresOn", valueOf(e))}
        />
        <p class="day-spelled" id="expiresOn-day" aria-live="polite">
          ${time.parseDate(s.expiresOn) ? time.expiryLabel(s.expiresOn, s.timeZone) : "No date chosen"}
        </p>
        <p class="hint" id="expiresOn-hint">
          From today to ${time.dayLabel(range.max)}. The token works until the end of that day.
        </p>
        ${fieldError(s.errors, "expiresOn")}
      </div>
      <div class="field">
        <label for="timeZone">Time zone</label>
        <select
          id="timeZone"
          name="timeZone"
          aria-invalid=${s.errors.timeZone ? "true" : "false"}
          aria-describedby=${describedBy(s.errors, "timeZone", "timeZone-hint")}
          @change=${(e: Event) => s.set("timeZone", valueOf(e))}
        >
          ${guard([s.zones, s.timeZone], () =>
            s.zones.map((zone) => html`<option value=${zone} ?selected=${zone === s.timeZone}>${zone}</option>`),
          )}
        </select>
        <p class="hint" id="timeZone-hint">The day ends at midnight in this zone. Yours: ${s.personZone}.</p>
        ${fieldError(s.errors, "timeZone")}
      </div>
    </div>
    <div class="picks" role="group" aria-labelledby="picks-label">
      <span id="picks-label" class="hint">Quick picks:</span>
      ${picks.map(
        (pick) => html`<button
          type="button"
          class="small"
          aria-pressed=${pick.date === s.expiresOn ? "true" : "false"}
          @click=${() => s.set("expiresOn", pick.date)}
        >
          ${pick.label}
        </button>`,
      )}
    </div>
    <p class="stop-line" id="stop-line" aria-live="polite">
      ${valid
        ? time.stopsWorkingLine(s.expiresOn, s.timeZone, s.personZone, s.now)
        : "Choose an expiration date to see when the token stops working."}
    </p>`;
}

export interface PermissionsState {
  offered: string[];
  some: boolean;
  chosen: string[];
  error?: string;
  mode(mode: "all" | "some"): void;
  choose(permission: string, on: boolean): void;
}

export function permissionsField(p: PermissionsState): TemplateResult {
  const errors: FieldErrors = p.error ? { permissions: p.error } : {};
  return html`<fieldset
    id="permissions"
    tabindex="-1"
    aria-invalid=${p.error ? "true" : "false"}
    aria-describedby=${describedBy(errors, "permissions")}
  >
    <legend>Permissions</legend>
    <label class="choice">
      <input type="radio" name="permission-mode" value="all" .checked=${live(!p.some)} @change=${() => p.mode("all")} />
      All of mine, as they are whenever the token is used
    </label>
    <label class="choice">
      <input type="radio" name="permission-mode" value="some" .checked=${live(p.some)} @change=${() => p.mode("some")} />
      Only these:
    </label>
    <div class="perm-list">
      ${p.offered.map(
        (permission) => html`<label class="choice">
          <input
            type="checkbox"
            value=${permission}
            ?disabled=${!p.some}
            .checked=${live(p.chosen.includes(permission))}
            @change=${(e: Event) => p.choose(permission, (e.target as HTMLInputElement).checked)}
          />
          <code>${permission}</code>
        </label>`,
      )}
    </div>
    ${fieldError(errors, "permissions")}
  </fieldset>`;
}
