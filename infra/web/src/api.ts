/**
 * The token API, as the web page calls it: `Authorization: <session>` (the value
 * the host's getSession returns, as is), JSON in and out, no cookies.
 */

export interface Token {
  id: string;
  name: string;
  description: string | null;
  createdAt: string;
  expiresAt: string;
  expiresOn: string;
  timeZone: string;
  lastUsedAt: string | null;
  hint: string;
  /** Permission names, or null for all of the user's (newer servers). */
  permissions?: string[] | null;
  rotatedAt?: string | null;
  lastUsedIp?: string | null;
  lastUsedUserAgent?: string | null;
  /** When the secret a rotation replaced was presented after its grace period. */
  secretReusedAt?: string | null;
  status?: "active" | "revoked";
  revokedAt?: string | null;
  revokedReason?: string | null;
  /** Permissions a role change took from the token (newer servers): which, and when. */
  permissionsLost?: PermissionLoss[] | null;
}

/** A permission the token relied on and its owner no longer has (`lostAt`: RFC 3339). */
export interface PermissionLoss {
  permission: string;
  lostAt: string;
}

export interface CreatedToken extends Token {
  token: string;
}

export interface Limits {
  maxTokenLifetimeDays?: number;
  maxTokensPerUser?: number;
  maxGraceSeconds?: number;
}

export interface Caller {
  permissions?: string[];
  /** False when the account is not active (servers that say so; others give no permissions). */
  active?: boolean;
  timeZone?: string | null;
}

export interface TokenList {
  tokens: Token[];
  nextToken?: string | null;
  caller?: Caller;
  limits?: Limits;
}

export interface CreateRequest {
  name: string;
  description?: string;
  expiresOn: string;
  timeZone: string;
  permissions?: string[];
}

export interface RotateRequest {
  expiresOn?: string;
  timeZone?: string;
  graceSeconds?: number;
}

/** Where a list of tokens comes from: `GET /tokens` here, an inventory route for an admin page. */
export interface TokenSource {
  list(options?: { nextToken?: string; status?: "revoked" }): Promise<TokenList>;
  revoke(id: string): Promise<void>;
}

export type SessionProvider = () => Promise<string | null | undefined> | string | null | undefined;

/** A failed call. `status` 0: no answer (network, CORS) or no session. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const GATEWAY_CODES: Record<number, string> = {
  401: "unauthenticated",
  403: "forbidden",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  429: "too_many_requests",
  503: "service_unavailable",
};

export class TokenApi implements TokenSource {
  private readonly base: string;

  constructor(
    base: string,
    private readonly session: SessionProvider,
  ) {
    this.base = base.replace(/\/+$/, "");
  }

  list(options: { nextToken?: string; status?: "revoked" } = {}): Promise<TokenList> {
    const query = new URLSearchParams();
    if (options.status) query.set("status", options.status);
    if (options.nextToken) query.set("nextToken", options.nextToken);
    const text = query.toString();
    const suffix = text ? `?${text}` : "";
    return this.call("GET", `/tokens${suffix}`) as Promise<TokenList>;
  }

  create(request: CreateRequest): Promise<CreatedToken> {
    return this.call("POST", "/tokens", request) as Promise<CreatedToken>;
  }

  revoke(id: string): Promise<void> {
    return this.call("DELETE", `/tokens/${encodeURIComponent(id)}`) as Promise<void>;
  }

  rotate(id: string, request: RotateRequest): Promise<CreatedToken> {
    return this.call("POST", `/tokens/${encodeURIComponent(id)}/rotate`, request) as Promise<CreatedToken>;
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    let session: string | null | undefined;
    try {
      // A session given synchronously is used at once: the request then leaves before
      // the element's first render rather than after it.
      const value = this.session();
      session = value instanceof Promise ? await value : value;
    } catch {
      session = null;
    }
    if (!session) throw new ApiError(0, "signed_out", "You are not signed in.");
    const headers: Record<string, string> = { Authorization: session };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer",
        mode: "cors",
      });
    } catch {
      throw new ApiError(0, "network", "The token service could not be reached.");
    }
    if (response.status === 204) return undefined;
    let data: unknown = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) throw errorFrom(response.status, data);
    return data;
  }
}

/** Reads `{"error": {code, message, field?}}` (the API) or `{"message"}` (the gateway). */
export function errorFrom(status: number, data: unknown): ApiError {
  const body = (data ?? {}) as { error?: { code?: unknown; message?: unknown; field?: unknown }; message?: unknown };
  const error = body.error;
  const code = typeof error?.code === "string" ? error.code : (GATEWAY_CODES[status] ?? "error");
  const message =
    typeof error?.message === "string"
      ? error.message
      : typeof body.message === "string"
        ? body.message
        : `The token service answered ${status}.`;
  const field = typeof error?.field === "string" ? error.field : undefined;
  return new ApiError(status, code, message, field);
}
