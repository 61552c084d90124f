/**
 * The list's API state as a reactive controller: what was loaded, its paging, the
 * server's limits and what the caller may give a token, and the optimistic removal
 * of revoked tokens. It knows nothing of how the list is drawn, and takes its tokens
 * from a `TokenSource` (`GET /tokens` here; an organisation's inventory elsewhere).
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";
import { ApiError, type Caller, type Limits, type Token, type TokenList, type TokenSource } from "./api.js";
import { describe, isSignedOut } from "./messages.js";
import { newestFirst } from "./token-view.js";

export type ListStatus = "idle" | "signed-out" | "loading" | "ready" | "error";

/** What happened to a revoke: done, already gone, or failed (the token is back). */
export type RevokeOutcome = "revoked" | "gone" | "signed-out" | { failed: unknown };

export class TokenListController implements ReactiveController {
  status: ListStatus = "idle";
  loadError = "";
  refreshing = false;
  tokens: Token[] = [];
  nextToken: string | null = null;
  limits: Limits | null = null;
  caller: Caller | null = null;

  private seq = 0;
  private readonly revoking = new Set<string>();

  /**
   * `source()` gives the source to call (null: no session); `onSignedOut(error)` is
   * told when the API refuses the session.
   */
  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly source: () => TokenSource | null,
    private readonly onSignedOut: () => void,
  ) {
    host.addController(this);
  }

  hostConnected(): void {}

  hostDisconnected(): void {
    this.seq++; // answers still due are dropped
  }

  /** The server describes its newer features (limits in the list). */
  get extended(): boolean {
    return this.limits !== null;
  }

  /** Loads (or reloads) the first page. Resolves to true once a fresh list is held. */
  async load(): Promise<boolean> {
    const source = this.source();
    if (!source) {
      this.signOut();
      return false;
    }
    const seq = ++this.seq;
    if (this.status !== "ready") this.status = "loading";
    this.refreshing = true;
    this.host.requestUpdate();
    try {
      const list = await source.list();
      if (seq !== this.seq) return false;
      this.accept(list);
      this.tokens = this.listed(list).sort(newestFirst);
      this.status = "ready";
      this.loadError = "";
      return true;
    } catch (error) {
      if (seq !== this.seq) return false;
      if (this.signedOut(error)) return false;
      this.status = this.status === "ready" ? "ready" : "error";
      this.loadError = `Your tokens could not be loaded. ${describe(error)}`;
      return false;
    } finally {
      if (seq === this.seq) this.refreshing = false;
      this.host.requestUpdate();
    }
  }

  /** Loads the next page; resolves to the tokens it brought (null if it failed). */
  async loadMore(): Promise<{ added: Token[] } | { error: string } | null> {
    const source = this.source();
    if (!source || !this.nextToken || this.refreshing) return null;
    this.refreshing = true;
    this.host.requestUpdate();
    try {
      const list = await source.list({ nextToken: this.nextToken });
      const known = new Set(this.tokens.map((t) => t.id));
      const added = this.listed(list).filter((t) => !known.has(t.id));
      this.tokens = [...this.tokens, ...added].sort(newestFirst);
      this.nextToken = typeof list.nextToken === "string" && list.nextToken ? list.nextToken : null;
      return { added };
    } catch (error) {
      if (this.signedOut(error)) return null;
      return { error: `More tokens could not be loaded. ${describe(error)}` };
    } finally {
      this.refreshing = false;
      this.host.requestUpdate();
    }
  }

  /** Puts a token (new or changed) in the list. */
  upsert(token: Token, replaces?: string): void {
    this.tokens = [token, ...this.tokens.filter((t) => t.id !== token.id && t.id !== replaces)].sort(newestFirst);
    if (this.status !== "ready") this.status = "ready";
    this.host.requestUpdate();
  }

  /**
   * Revokes at once on screen, then through the API; a failure puts the token back.
   * `neighbour` is told the token that takes the revoked one's place (for focus).
   */
  async revoke(token: Token, neighbour?: (next: Token | null) => void): Promise<RevokeOutcome> {
    const source = this.source();
    if (!source || this.revoking.has(token.id)) return "gone";
    const index = this.tokens.findIndex((t) => t.id === token.id);
    this.revoking.add(token.id);
    this.tokens = this.tokens.filter((t) => t.id !== token.id);
    neighbour?.(this.tokens[index] ?? this.tokens[index - 1] ?? null);
    this.host.requestUpdate();
    try {
      await source.revoke(token.id);
      return "revoked";
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return "gone"; // already gone
      if (this.signedOut(error)) return "signed-out";
      this.tokens = [...this.tokens.filter((t) => t.id !== token.id), token].sort(newestFirst);
      this.host.requestUpdate();
      return { failed: error };
    } finally {
      this.revoking.delete(token.id);
    }
  }

  /** Forgets everything (signed out). */
  signOut(): void {
    this.seq++;
    this.status = "signed-out";
    this.tokens = [];
    this.nextToken = null;
    this.refreshing = false;
    this.host.requestUpdate();
  }

  private accept(list: TokenList): void {
    this.nextToken = typeof list.nextToken === "string" && list.nextToken ? list.nextToken : null;
    this.limits = list.limits && typeof list.limits === "object" ? list.limits : null;
    this.caller = list.caller && typeof list.caller === "object" ? list.caller : null;
  }

  private listed(list: TokenList): Token[] {
    const tokens = Array.isArray(list.tokens) ? list.tokens : [];
    return tokens.filter((t) => !this.revoking.has(t.id));
  }

  private signedOut(error: unknown): boolean {
    if (!isSignedOut(error)) return false;
    this.signOut();
    this.onSignedOut();
    return true;
  }
}
