import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Token } from "../src/api.js";
import { graceChoices } from "../src/rotation.js";
import { TOKEN_FILTERS, lostPermissions, searchMatches, sortedColumn, tokensInView } from "../src/token-view.js";

const NOW = Date.parse("2026-12-05T12:00:00Z");

function token(id: string, fields: Partial<Token> = {}): Token {
  return {
    id,
    name: id,
    description: null,
    createdAt: "2026-12-01T10:00:00Z",
    expiresAt: "2027-01-31T23:00:00Z",
    expiresOn: "2027-01-31",
    timeZone: "Europe/Paris",
    lastUsedAt: null,
    hint: "pgt_…abcd",
    permissions: null,
    ...fields,
  };
}

const tokens = [
  token("ci-deploy", { description: "GitHub Actions déploiement", createdAt: "2026-12-03T10:00:00Z", lastUsedAt: "2026-12-05T11:00:00Z" }),
  token("nightly", { expiresAt: "2026-12-08T23:00:00Z", expiresOn: "2026-12-08", createdAt: "2026-12-02T10:00:00Z" }),
  token("grafana", { permissions: ["catalog:read"], createdAt: "2026-12-04T10:00:00Z", lastUsedAt: "2026-11-01T08:00:00Z" }),
  token("old-bot", {
    createdAt: "2026-11-20T10:00:00Z",
    permissionsLost: [{ permission: "entity:edit", lostAt: "2026-12-02T09:00:00Z" }],
  }),
];

const ids = (list: Token[]) => list.map((t) => t.id);
const view = (query: string, filters: string[] = [], order: Parameters<typeof tokensInView>[1]["order"] = "newest") =>
  ids(tokensInView(tokens, { query, filters: new Set(filters), order }, NOW));

describe("token table: search, filters, sort", () => {
  it("searches name and description, every word, ignoring case and accents", () => {
    assert.deepEqual(view("deploiement github"), ["ci-deploy"]);
    assert.deepEqual(view("GRAF"), ["grafana"]);
    assert.deepEqual(view("  "), ["grafana", "ci-deploy", "nightly", "old-bot"]);
    assert.equal(searchMatches(tokens[0], "deploy gitlab"), false);
  });

  it("filters: expiring within 7 days, never used, limited permissions, lost permissions, combined with and", () => {
    assert.deepEqual(view("", ["expiring"]), ["nightly"]);
    assert.deepEqual(view("", ["unused"]), ["nightly", "old-bot"]);
    assert.deepEqual(view("", ["limited"]), ["grafana"]);
    assert.deepEqual(view("", ["lost"]), ["old-bot"]);
    assert.deepEqual(view("", ["unused", "expiring"]), ["nightly"]);
    assert.deepEqual(view("bot", ["expiring"]), []);
  });

  it("offers the filters whose field the server sends", () => {
    const lost = TOKEN_FILTERS.find((f) => f.id === "lost");
    assert.equal(lost?.offered?.(tokens), true);
    assert.equal(lost?.offered?.([token("x")]), false, "older servers send no permissionsLost");
    const limited = TOKEN_FILTERS.find((f) => f.id === "limited");
    const { permissions: _, ...bare } = token("y");
    assert.equal(limited?.offered?.([bare as Token]), false);
  });

  it("sorts by creation, expiry and last use (never used last, or first for least recently used)", () => {
    assert.deepEqual(view("", [], "newest"), ["grafana", "ci-deploy", "nightly", "old-bot"]);
    assert.deepEqual(view("", [], "oldest"), ["old-bot", "nightly", "ci-deploy", "grafana"]);
    assert.deepEqual(view("", [], "expiring"), ["nightly", "grafana", "ci-deploy", "old-bot"]);
    assert.deepEqual(view("", [], "recently-used"), ["ci-deploy", "grafana", "nightly", "old-bot"]);
    assert.deepEqual(view("", [], "least-used"), ["nightly", "old-bot", "grafana", "ci-deploy"]);
    assert.deepEqual(sortedColumn("expiring"), { column: "expires", direction: "ascending" });
    assert.deepEqual(sortedColumn("newest"), { column: "created", direction: "descending" });
  });

  it("reads permissionsLost defensively, oldest loss first", () => {
    const t = token("z", {
      permissionsLost: [
        { permission: "b:write", lostAt: "2026-12-04T00:00:00Z" },
        { permission: "a:read", lostAt: "2026-12-01T00:00:00Z" },
        { permission: "bad", lostAt: "not a time" },
      ],
    });
    assert.deepEqual(lostPermissions(t).map((l) => l.permission), ["a:read", "b:write"]);
    assert.deepEqual(lostPermissions(token("none", { permissionsLost: null })), []);
  });
});

describe("rotation's grace periods", () => {
  it("selects an hour first, the longest allowed below it when the server allows less", () => {
    assert.deepEqual(graceChoices(undefined), { choices: [0, 3600, 86400], preferred: 3600 });
    assert.deepEqual(graceChoices(86_400 * 7), { choices: [0, 3600, 86400], preferred: 3600 });
    assert.deepEqual(graceChoices(1800), { choices: [0], preferred: 0 });
  });
});
