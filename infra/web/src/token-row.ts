/**
 * One row of the token table (a template function, so that it renders the same in
 * the browser and in the unit tests' server-side render). The row header is the
 * token's name; each cell carries a label that only the narrow layout shows (screen
 * readers have the column headers).
 */
import { html, nothing, type TemplateResult } from "lit";
import type { Token } from "./api.js";
import { shortUserAgent } from "./format.js";
import * as time from "./time.js";
import { expiresAtOf, instant, lostPermissions } from "./token-view.js";

export interface RowContext {
  now: number;
  /** The person's zone, for the days of past events. */
  zone: string;
  /** Rotate is offered (newer servers). */
  canRotate: boolean;
  /** What went wrong with this token's last action, if anything. */
  error?: string;
  onRotate?: (token: Token) => void;
  onRevoke?: (token: Token) => void;
}

/** The columns, in order: their header and the key the narrow layout and the tests use. */
export const COLUMNS = [
  { key: "name", label: "Name" },
  { key: "hint", label: "Token" },
  { key: "permissions", label: "Permissions" },
  { key: "created", label: "Created" },
  { key: "expires", label: "Expires" },
  { key: "used", label: "Last used" },
  { key: "actions", label: "Actions" },
] as const;

type ColumnKey = (typeof COLUMNS)[number]["key"];

function cell(key: ColumnKey, content: unknown, extra = ""): TemplateResult {
  const label = COLUMNS.find((c) => c.key === key)?.label ?? key;
  return html`<td role="cell" class="${key} ${extra}" data-column=${key}>
    <span class="cell-label" aria-hidden="true">${label}</span>
    <div class="value">${content}</div>
  </td>`;
}

/** "entity:edit (lost Wed 2 Dec 2026, 3 days ago)", one per permission. */
export function lostLines(token: Token, now: number, zone: string): string[] {
  return lostPermissions(token).map((loss) => {
    const at = instant(loss.lostAt) ?? now;
    return `${loss.permission} (lost ${time.instantDayLabel(at, zone)}, ${time.relativePast(at, now)})`;
  });
}

function permissionsCell(token: Token, ctx: RowContext): TemplateResult {
  const lost = lostLines(token, ctx.now, ctx.zone);
  const listed = "permissions" in token;
  return cell(
    "permissions",
    html`${listed
      ? html`<span class="perms">${Array.isArray(token.permissions) ? token.permissions.join(", ") : "all of yours"}</span>`
      : html`<span class="muted">not shown</span>`}
    ${lost.length > 0
      ? html`<div class="lost">
          <span class="badge">Lost permissions</span>
          <span class="lost-text">A role change took: ${lost.join("; ")}.</span>
        </div>`
      : nothing}`,
  );
}

function createdCell(token: Token, ctx: RowContext): TemplateResult {
  const created = instant(token.createdAt);
  const rotated = instant(token.rotatedAt);
  return cell(
    "created",
    html`${created !== null
      ? html`<time datetime=${token.createdAt}>${time.instantDayLabel(created, ctx.zone)}</time>
          <span class="sub">${time.relativePast(created, ctx.now)}</span>`
      : "unknown"}
    ${rotated !== null ? html`<span class="sub">rotated ${time.relativePast(rotated, ctx.now)}</span>` : nothing}`,
  );
}

function expiresCell(token: Token, ctx: RowContext): TemplateResult {
  const expiresAt = expiresAtOf(token);
  const soon = time.isExpiringSoon(expiresAt, ctx.now);
  return cell(
    "expires",
    html`<time datetime=${token.expiresAt}>${time.expiryLabel(token.expiresOn, token.timeZone)}</time>
      <span class="sub ${soon ? "soon-text" : ""}">${time.relativeTime(expiresAt, ctx.now)}</span>
      ${soon ? html`<span class="badge">Expires soon</span>` : nothing}`,
  );
}

function usedCell(token: Token, ctx: RowContext): TemplateResult {
  const lastUsed = instant(token.lastUsedAt);
  const reused = instant(token.secretReusedAt);
  const origin = [token.lastUsedIp, shortUserAgent(token.lastUsedUserAgent)].filter(Boolean).join(", ");
  return cell(
    "used",
    html`<span class="when"
        >${lastUsed !== null
          ? html`<time datetime=${token.lastUsedAt ?? ""}>${time.relativePast(lastUsed, ctx.now)}</time>`
          : "never"}</span
      >
      ${origin ? html`<span class="sub from">from ${origin}</span>` : nothing}
      ${reused !== null
        ? html`<p class="message warning">
            Its previous secret, replaced by a rotation, was tried ${time.relativePast(reused, ctx.now)} and refused.
            If that was not an old copy of your own, it may have leaked.
          </p>`
        : nothing}`,
  );
}

function actionsCell(token: Token, ctx: RowContext): TemplateResult {
  return cell(
    "actions",
    html`<div class="row-actions">
        ${ctx.canRotate
          ? html`<button
              type="button"
              class="small"
              id="rotate-${token.id}"
              aria-describedby="name-${token.id}"
              @click=${() => ctx.onRotate?.(token)}
            >
              Rotate
            </button>`
          : nothing}
        <button
          type="button"
          class="small danger"
          id="revoke-${token.id}"
          aria-describedby="name-${token.id}"
          @click=${() => ctx.onRevoke?.(token)}
        >
          Revoke
        </button>
      </div>
      ${ctx.error ? html`<p class="message error" role="alert">${ctx.error}</p>` : nothing}`,
  );
}

/** The row of `token`: focusable (tabindex -1) so that focus can land on it after an action. */
export function tokenRow(token: Token, ctx: RowContext): TemplateResult {
  const soon = time.isExpiringSoon(expiresAtOf(token), ctx.now);
  const lost = lostPermissions(token).length > 0;
  return html`<tr
    role="row"
    id="token-${token.id}"
    tabindex="-1"
    aria-labelledby="name-${token.id}"
    class="${soon ? "soon" : ""} ${lost ? "lost-row" : ""}"
  >
    <th role="rowheader" scope="row" class="name" data-column="name">
      <span class="name" id="name-${token.id}">${token.name}</span>
      ${token.description ? html`<span class="desc">${token.description}</span>` : nothing}
    </th>
    ${cell("hint", html`<code>${token.hint}</code>`)} ${permissionsCell(token, ctx)} ${createdCell(token, ctx)}
    ${expiresCell(token, ctx)} ${usedCell(token, ctx)} ${actionsCell(token, ctx)}
  </tr>`;
}
