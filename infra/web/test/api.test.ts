import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { ApiError, TokenApi, errorFrom } from "../src/api.js";

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

function fakeFetch(status: number, body: unknown, seen: Array<{ url: string; init: RequestInit }>): void {
  globalThis.fetch = (async (url: string, init: RequestInit) => {
    seen.push({ url, init });
    return new Response(status === 204 ? null : JSON.stringify(body), {
      status,
      headers: { "Content-Type": "application/json" },
    });
  }) as typeof fetch;
}

describe("token API client", () => {
  it("sends the session as is, JSON, no cookies", async () => {
    const seen: Array<{ url: string; init: RequestInit }> = [];
    fakeFetch(201, { id: "x", token: "pgt_x" }, seen);
    const api = new TokenApi("http://127.0.0.1:3000/", async () => "eyJ.session");
    await api.create({ name: "ci", expiresOn: "2026-12-31", timeZone: "Europe/Paris" });
    assert.equal(seen[0].url, "http://127.0.0.1:3000/tokens");
    assert.equal(seen[0].init.method, "POST");
    const headers = seen[0].init.headers as Record<string, string>;
    assert.equal(headers.Authorization, "eyJ.session");
    assert.equal(headers["Content-Type"], "application/json");
    assert.equal(seen[0].init.credentials, "omit");
    assert.deepEqual(JSON.parse(seen[0].init.body as string), {
      name: "ci",
      expiresOn: "2026-12-31",
      timeZone: "Europe/Paris",
    });
  });

  it("lists, pages and revokes", async () => {
    const seen: Array<{ url: string; init: RequestInit }> = [];
    fakeFetch(200, { tokens: [] }, seen);
    const api = new TokenApi("https://api.example.com/v1", () => "s");
    await api.list();
    await api.list({ nextToken: "a b" });
    await api.list({ status: "revoked" });
    assert.deepEqual(
      seen.map((s) => s.url),
      [
        "https://api.example.com/v1/tokens",
        "https://api.example.com/v1/tokens?nextToken=a+b",
        "https://api.example.com/v1/tokens?status=revoked",
      ],
    );
    fakeFetch(204, null, seen);
    assert.equal(await api.revoke("01ABC"), undefined);
    assert.equal(seen.at(-1)?.init.method, "DELETE");
    assert.equal(seen.at(-1)?.url, "https://api.example.com/v1/tokens/01ABC");
  });

  it("turns error answers into ApiError", async () => {
    const seen: Array<{ url: string; init: RequestInit }> = [];
    fakeFetch(400, { error: { code: "invalid_field", message: "name: is required", field: "name" } }, seen);
    const api = new TokenApi("http://x", () => "s");
    await assert.rejects(api.list(), (e: unknown) => e instanceof ApiError && e.status === 400 && e.field === "name");
  });

  it("without a session, or without an answer, it fails with status 0", async () => {
    const none = new TokenApi("http://x", async () => null);
    await assert.rejects(none.list(), (e: unknown) => e instanceof ApiError && e.code === "signed_out");
    const throwing = new TokenApi("http://x", async () => {
      throw new Error("expired");
    });
    await assert.rejects(throwing.list(), (e: unknown) => e instanceof ApiError && e.status === 0);
    globalThis.fetch = (async () => {
      throw new TypeError("Failed to fetch");
    }) as typeof fetch;
    const api = new TokenApi("http://x", () => "s");
    await assert.rejects(api.list(), (e: unknown) => e instanceof ApiError && e.code === "network");
  });

  it("reads both error shapes", () => {
    const api = errorFrom(409, { error: { code: "token_limit_reached", message: "at most 50" } });
    assert.deepEqual([api.status, api.code, api.message, api.field], [409, "token_limit_reached", "at most 50", undefined]);
    const gateway = errorFrom(401, { message: "Unauthorized" });
    assert.deepEqual([gateway.code, gateway.message], ["unauthenticated", "Unauthorized"]);
    const empty = errorFrom(502, null);
    assert.equal(empty.code, "error");
    assert.match(empty.message, /502/);
  });
});
