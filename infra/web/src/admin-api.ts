/**
 * The organisation's routes, as an administrator's web session calls them (`/org/*`;
 * the caller's roles must grant `patgate:admin`, else 403 `forbidden`): the token
 * inventory and its summary, an administrator's revoke, service accounts and their
 * tokens. Same session, errors and JSON as the token API (`callApi`).
 */
import { callApi, type CreateRequest, type CreatedToken, type SessionProvider, type Token, type TokenList, type TokenSource } from "./api.js";

/** The inventory's server-side filters (`GET /org/tokens`). Empty fields: not filtered. */
export interface InventoryFilters {
  owner?: string;
  ownerKind?: "user" | "service" | "";
  /** "true": tokens with their own permission list; "false": all of their owner's. */
  scoped?: "true" | "false" | "";
  expiringWithinDays?: number | null;
  unusedForDays?: number | null;
  neverUsed?: boolean;
}

/** `GET /org/tokens/summary`: counts at day resolution. */
export interface InventorySummary {
  total: number;
  byOwnerKind: Record<string, number>;
  scoped: number;
  unscoped: number;
  expiringWithinDays: Record<string, number>;
  unusedForDays: Record<string, number>;
  neverUsed: number;
}

export interface ServiceAccount {
  id: string;
  name: string;
  description: string | null;
  owners: string[];
  roles: string[];
  active: boolean;
  orphaned: boolean;
  createdBy: string;
  createdAt: string | null;
  modifiedAt: string | null;
}

export interface ServiceAccountInput {
  name: string;
  description?: string;
  owners: string[];
  roles: string[];
}

/** "a, b  c" → ["a", "b", "c"]: ids and role names are separated by commas or spaces. */
export function listOf(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))];
}

/** The API refuses `expiringWithinDays` with an idle filter unless `owner` is set. */
export function filterConflict(filters: InventoryFilters): string | null {
  const idle = !!filters.unusedForDays || !!filters.neverUsed;
  if (filters.expiringWithinDays != null && idle && !filters.owner?.trim()) {
    return "“Expiring within” combines with “Unused for” or “Never used” only for one owner: choose an owner, or one of them.";
  }
  return null;
}

/** The query string of a filter set (only the fields that filter), without `?`. */
export function inventoryQuery(filters: InventoryFilters, extra: Record<string, string> = {}): string {
  const query = new URLSearchParams();
  const owner = filters.owner?.trim();
  if (owner) query.set("owner", owner);
  if (filters.ownerKind) query.set("ownerKind", filters.ownerKind);
  if (filters.scoped) query.set("scoped", filters.scoped);
  if (filters.expiringWithinDays != null) query.set("expiringWithinDays", String(filters.expiringWithinDays));
  if (filters.unusedForDays) query.set("unusedForDays", String(filters.unusedForDays));
  if (filters.neverUsed) query.set("neverUsed", "true");
  for (const [name, value] of Object.entries(extra)) query.set(name, value);
  // A space as %20, not "+": API Gateway hands "+" on as a plus sign (a literal "+" is %2B).
  return query.toString().replace(/\+/g, "%20");
}

export class AdminApi {
  private readonly base: string;

  constructor(
    base: string,
    private readonly session: SessionProvider,
  ) {
    this.base = base.replace(/\/+$/, "");
  }

  private call(method: string, path: string, body?: unknown): Promise<unknown> {
    return callApi(this.base, this.session, method, path, body);
  }

  /** One page of the inventory. */
  inventory(filters: InventoryFilters, nextToken?: string, limit?: number): Promise<TokenList> {
    const extra: Record<string, string> = {};
    if (nextToken) extra.nextToken = nextToken;
    if (limit) extra.limit = String(limit);
    const text = inventoryQuery(filters, extra);
    return this.call("GET", `/org/tokens${text ? `?${text}` : ""}`) as Promise<TokenList>;
  }

  /** Counts for the partitions `ownerKind` and `scoped` select (the summary has no other filter). */
  summary(filters: Pick<InventoryFilters, "ownerKind" | "scoped">): Promise<InventorySummary> {
    const text = inventoryQuery({ ownerKind: filters.ownerKind, scoped: filters.scoped });
    return this.call("GET", `/org/tokens/summary${text ? `?${text}` : ""}`) as Promise<InventorySummary>;
  }

  /** Revokes with reason `admin`; `note` is kept on the revoked record. */
  revoke(ownerId: string, tokenId: string, note?: string): Promise<void> {
    const path = `/org/tokens/${encodeURIComponent(ownerId)}/${encodeURIComponent(tokenId)}/revoke`;
    return this.call("POST", path, note ? { note } : {}) as Promise<void>;
  }

  serviceAccounts(nextToken?: string): Promise<{ serviceAccounts: ServiceAccount[]; nextToken?: string | null }> {
    const text = nextToken ? `?${new URLSearchParams({ nextToken })}` : "";
    return this.call("GET", `/org/service-accounts${text}`) as Promise<{
      serviceAccounts: ServiceAccount[];
      nextToken?: string | null;
    }>;
  }

  createServiceAccount(input: ServiceAccountInput): Promise<ServiceAccount> {
    return this.call("POST", "/org/service-accounts", input) as Promise<ServiceAccount>;
  }

  createServiceToken(accountId: string, request: CreateRequest): Promise<CreatedToken> {
    const path = `/org/service-accounts/${encodeURIComponent(accountId)}/tokens`;
    return this.call("POST", path, request) as Promise<CreatedToken>;
  }

  /** The inventory under these filters as a `TokenSource` (paging by `nextToken`; revoke as an administrator). */
  source(filters: InventoryFilters, limit?: number): TokenSource {
    return {
      list: (options = {}) => this.inventory(filters, options.nextToken, limit),
      revoke: (id: string, detail?: { token: Token; note?: string }) => {
        const owner = detail?.token.ownerId;
        if (!owner) return Promise.reject(new Error("the inventory token has no owner"));
        return this.revoke(owner, id, detail?.note);
      },
    };
  }
}
