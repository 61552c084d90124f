import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { AdminApi, filterConflict, inventoryQuery, listOf, type InventorySummary } from "../src/admin-api.js";
import { summaryFigures } from "../src/inventory-summary.js";

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

describe("inventory filters", () => {
  it("send only what filters, as the API names it", () => {
    assert.equal(inventoryQuery({}), "");
    assert.equal(
      inventoryQuery({ owner: "  mia ", ownerKind: "service", scoped: "true", expiringWithinDays: 7, neverUsed: false }),
      "owner=mia&ownerKind=service&scoped=true&expiringWithinDays=7",
    );
    assert.equal(inventoryQuery({ expiringWithinDays: 0 }), "expiringWithinDays=0");
    assert.equal(inventoryQuery({ unusedForDays: 90, neverUsed: true }, { nextToken: "a b+c" }), "unusedForDays=90&neverUsed=true&nextToken=a%20b%2Bc");
  });

  it("refuse, as the API does, expiry with an idle filter unless for one owner", () => {
    assert.match(filterConflict({ expiringWithinDays: 7, neverUsed: true }) ?? "", /only for one owner/);
    assert.match(filterConflict({ expiringWithinDays: 30, unusedForDays: 30, owner: " " }) ?? "", /only for one owner/);
    assert.equal(filterConflict({ expiringWithinDays: 7, neverUsed: true, owner: "mia" }), null);
    assert.equal(filterConflict({ expiringWithinDays: 7, scoped: "true" }), null);
    assert.equal(filterConflict({ unusedForDays: 30, neverUsed: true }), null);
  });

  it("read owners and roles separated by commas or spaces, once each", () => {
    assert.deepEqual(listOf(" mia, leo  mia,,\tViewer "), ["mia", "leo", "Viewer"]);
    assert.deepEqual(listOf(" , "), []);
  });
});

describe("admin API client", () => {
  it("pages the inventory under its filters and revokes as an administrator, note included", async () => {
    const seen: Array<{ url: string; init: RequestInit }> = [];
    fakeFetch(200, { tokens: [], nextToken: null }, seen);
    const api = new AdminApi("http://127.0.0.1:3000/", () => "session");
    const source = api.source({ owner: "mia", neverUsed: true }, 25);
    await source.list({ nextToken: "t1" });
    assert.equal(seen[0].url, "http://127.0.0.1:3000/org/tokens?owner=mia&neverUsed=true&nextToken=t1&limit=25");
    fakeFetch(204, null, seen);
    const token = { id: "tok 1", ownerId: "svc_01", name: "ci" } as never;
    await source.revoke("tok 1", { token, note: "leaked" });
    assert.equal(seen[1].url, "http://127.0.0.1:3000/org/tokens/svc_01/tok%201/revoke");
    assert.equal(seen[1].init.method, "POST");
    assert.equal(seen[1].init.body, JSON.stringify({ note: "leaked" }));
    await api.revoke("mia", "t2");
    assert.equal(seen[2].init.body, "{}");
  });

  it("asks the summary for the partitions only, and turns a 403 into an ApiError", async () => {
    const seen: Array<{ url: string; init: RequestInit }> = [];
    fakeFetch(403, { error: { code: "forbidden", message: "needs patgate:admin" } }, seen);
    const api = new AdminApi("http://api", () => "session");
    await assert.rejects(api.summary({ ownerKind: "user", scoped: "" }), (e: Error & { status?: number; code?: string }) => {
      assert.equal(e.status, 403);
      assert.equal(e.code, "forbidden");
      return true;
    });
    assert.equal(seen[0].url, "http://api/org/tokens/summary?ownerKind=user");
  });
});

describe("inventory counts", () => {
  it("list every count in reading order, days ascending, missing ones as zero", () => {
    const summary = {
      total: 12,
      byOwnerKind: { user: 10, service: 2 },
      scoped: 5,
      unscoped: 7,
      expiringWithinDays: { "30": 4, "7": 1 },
      unusedForDays: { "90": 2, "30": 3 },
      neverUsed: 6,
    } as InventorySummary;
    assert.deepEqual(
      summaryFigures(summary).map((f) => [f.id, f.label, f.value]),
      [
        ["total", "Live tokens", 12],
        ["people", "Owned by people", 10],
        ["service", "Owned by service accounts", 2],
        ["scoped", "With limited permissions", 5],
        ["expiring-7", "Expiring within 7 days", 1],
        ["expiring-30", "Expiring within 30 days", 4],
        ["unused-30", "Unused for 30 days or more", 3],
        ["unused-90", "Unused for 90 days or more", 2],
        ["never", "Never used", 6],
      ],
    );
    const sparse = summaryFigures({ total: 1 } as InventorySummary);
    assert.deepEqual(sparse.map((f) => f.value), [1, 0, 0, 0, 0]);
  });
});
