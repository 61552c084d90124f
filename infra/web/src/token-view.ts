/**
 * What the token table shows of a list: search, filters and sort orders (pure,
 * unit-tested). The filters are data, so that another page (an organisation's
 * inventory) can bring its own.
 */
import type { PermissionLoss, Token } from "./api.js";
import * as time from "./time.js";

export function instant(text: string | null | undefined): number | null {
  if (!text) return null;
  const value = Date.parse(text);
  return Number.isNaN(value) ? null : value;
}

/** When the token stops working (epoch ms): `expiresAt`, else the end of `expiresOn` in its zone. */
export function expiresAtOf(token: Token): number {
  return instant(token.expiresAt) ?? time.endOfDay(token.expiresOn, token.timeZone);
}

/** The permissions a role change took from the token, oldest loss first (none on older servers). */
export function lostPermissions(token: Token): PermissionLoss[] {
  const lost = Array.isArray(token.permissionsLost) ? token.permissionsLost : [];
  return lost
    .filter((l) => l && typeof l.permission === "string" && instant(l.lostAt) !== null)
    .sort((a, b) => (a.lostAt < b.lostAt ? -1 : a.lostAt > b.lostAt ? 1 : a.permission < b.permission ? -1 : 1));
}

export interface TokenFilter {
  id: string;
  label: string;
  matches(token: Token, now: number): boolean;
  /** Offered only when some token of the list could match (a field older servers lack). */
  offered?(tokens: Token[]): boolean;
}

/** The filters of "My access tokens"; each narrows the list (they combine with "and"). */
export const TOKEN_FILTERS: TokenFilter[] = [
  {
    id: "expiring",
    label: `Expiring within ${time.EXPIRING_SOON_DAYS} days`,
    matches: (token, now) => time.isExpiringSoon(expiresAtOf(token), now),
  },
  { id: "unused", label: "Never used", matches: (token) => !token.lastUsedAt },
  {
    id: "limited",
    label: "Limited permissions",
    matches: (token) => Array.isArray(token.permissions),
    offered: (tokens) => tokens.some((t) => "permissions" in t),
  },
  {
    id: "lost",
    label: "Lost permissions",
    matches: (token) => lostPermissions(token).length > 0,
    offered: (tokens) => tokens.some((t) => Array.isArray(t.permissionsLost)),
  },
];

export type SortOrder = "newest" | "oldest" | "expiring" | "recently-used" | "least-used";

export const SORT_ORDERS: Array<{ id: SortOrder; label: string }> = [
  { id: "newest", label: "Newest first" },
  { id: "oldest", label: "Oldest first" },
  { id: "expiring", label: "Expiring soonest" },
  { id: "recently-used", label: "Used most recently" },
  { id: "least-used", label: "Used least recently (never first)" },
];

/** The column a sort order sorts by, and how (for `aria-sort` on its header). */
export function sortedColumn(order: SortOrder): { column: "created" | "expires" | "used"; direction: "ascending" | "descending" } {
  switch (order) {
    case "oldest":
      return { column: "created", direction: "ascending" };
    case "expiring":
      return { column: "expires", direction: "ascending" };
    case "recently-used":
      return { column: "used", direction: "descending" };
    case "least-used":
      return { column: "used", direction: "ascending" };
    default:
      return { column: "created", direction: "descending" };
  }
}

/** Newest first; equal times by id (ids grow with time), so the order is total. */
export function newestFirst(a: Token, b: Token): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function usedAt(token: Token): number {
  return instant(token.lastUsedAt) ?? -Infinity;
}

function compare(order: SortOrder): (a: Token, b: Token) => number {
  switch (order) {
    case "oldest":
      return (a, b) => newestFirst(b, a);
    case "expiring":
      return (a, b) => expiresAtOf(a) - expiresAtOf(b) || newestFirst(a, b);
    case "recently-used":
      return (a, b) => usedAt(b) - usedAt(a) || newestFirst(a, b);
    case "least-used":
      return (a, b) => usedAt(a) - usedAt(b) || newestFirst(a, b);
    default:
      return newestFirst;
  }
}

/** Case- and accent-insensitive text for search. */
function folded(text: string): string {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
}

/** True when every word of `query` is in the token's name or description. */
export function searchMatches(token: Token, query: string): boolean {
  const words = folded(query).split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = folded(`${token.name} ${token.description ?? ""}`);
  return words.every((word) => text.includes(word));
}

export interface ViewOptions {
  query: string;
  filters: ReadonlySet<string>;
  order: SortOrder;
}

/** The tokens the table shows: searched, filtered, sorted (a new array). */
export function tokensInView(
  tokens: readonly Token[],
  options: ViewOptions,
  now: number,
  filters: readonly TokenFilter[] = TOKEN_FILTERS,
): Token[] {
  const active = filters.filter((f) => options.filters.has(f.id));
  return tokens
    .filter((t) => searchMatches(t, options.query) && active.every((f) => f.matches(t, now)))
    .sort(compare(options.order));
}
