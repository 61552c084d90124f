// The table's rows rendered as the server-side renderer of Lit renders them, from
// fixture data: what a row says of a token, permission drift included.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { render } from "@lit-labs/ssr";
import { collectResult } from "@lit-labs/ssr/lib/render-result.js";
import type { Token } from "../src/api.js";
import { lostLines, tokenRow, type RowContext } from "../src/token-row.js";

const NOW = Date.parse("2026-12-05T12:00:00Z");
const ctx: RowContext = { now: NOW, zone: "Europe/Paris", canRotate: true };

const base: Token = {
  id: "01JF",
  name: "ci-deploy",
  description: "deploys the catalog",
  createdAt: "2026-12-01T10:00:00Z",
  expiresAt: "2027-01-04T23:00:00Z",
  expiresOn: "2027-01-04",
  timeZone: "Europe/Paris",
  lastUsedAt: "2026-12-05T09:00:00Z",
  lastUsedIp: "203.0.113.7",
  lastUsedUserAgent: "deploy-bot/2.1 (+https://ci.example.com)",
  hint: "pgt_…wxyz",
  permissions: ["catalog:read", "entity:edit"],
};

/** The row's HTML without Lit's part markers, and its text with whitespace collapsed. */
async function rendered(token: Token, context: RowContext = ctx): Promise<{ html: string; text: string }> {
  const html = (await collectResult(render(tokenRow(token, context)))).replace(/<!--.*?-->/gs, "").replace(/\s+/g, " ");
  const text = html
    .replace(/<[^>]+>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return { html, text };
}

describe("token row", () => {
  it("is a row named by its header, the token's name, with a value per column", async () => {
    const { html, text } = await rendered(base);
    assert.match(html, /<tr role="row" id="token-01JF" tabindex="-1" aria-labelledby="name-01JF"/);
    assert.match(html, /<th role="rowheader" scope="row"[^>]*>\s*<span class="name" id="name-01JF">ci-deploy<\/span>/);
    for (const column of ["hint", "permissions", "created", "expires", "used", "actions"]) {
      assert.match(html, new RegExp(`data-column="${column}"`));
    }
    assert.match(text, /Permissions catalog:read, entity:edit/);
    assert.match(text, /Created Tue 1 Dec 2026 4 days ago/);
    assert.match(text, /Expires Mon 4 Jan 2027, end of day in Europe\/Paris in 30 days/);
    assert.match(text, /Last used 3 hours ago from 203\.0\.113\.7, deploy-bot\/2\.1/);
    assert.match(text, /Rotate Revoke$/);
    assert.doesNotMatch(text, /Lost permissions|Expires soon/);
  });

  it("says which permissions a role change took, and when", async () => {
    const token: Token = {
      ...base,
      permissions: null,
      permissionsLost: [
        { permission: "entity:edit", lostAt: "2026-12-02T09:30:00Z" },
        { permission: "catalog:write", lostAt: "2026-12-04T18:00:00Z" },
      ],
    };
    const { html, text } = await rendered(token);
    assert.match(html, /class="\s*lost-row"/);
    assert.match(text, /Permissions all of yours Lost permissions A role change took: entity:edit \(lost Wed 2 Dec 2026, 3 days ago\); catalog:write \(lost Fri 4 Dec 2026, 18 hours ago\)\./);
    assert.deepEqual(lostLines(token, NOW, "Asia/Kathmandu"), [
      "entity:edit (lost Wed 2 Dec 2026, 3 days ago)",
      "catalog:write (lost Fri 4 Dec 2026, 18 hours ago)",
    ]);
  });

  it("marks what needs attention: expiring soon, a replaced secret tried, a failed action", async () => {
    const token: Token = {
      ...base,
      expiresAt: "2026-12-07T23:00:00Z",
      expiresOn: "2026-12-07",
      lastUsedAt: null,
      lastUsedIp: null,
      lastUsedUserAgent: null,
      secretReusedAt: "2026-12-05T11:00:00Z",
    };
    const { html, text } = await rendered(token, { ...ctx, canRotate: false, error: "“ci-deploy” could not be revoked." });
    assert.match(text, /in 2 days Expires soon/);
    assert.match(text, /Last used never Its previous secret, replaced by a rotation, was tried 1 hour ago and refused\./);
    assert.match(html, /<p class="message error" role="alert">“ci-deploy” could not be revoked\.<\/p>/);
    assert.doesNotMatch(text, /Rotate/, "no Rotate on servers without it");
  });
});
