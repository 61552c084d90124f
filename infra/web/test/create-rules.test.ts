import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../src/api.js";
import { createFailure, createRequest, validate, type CreateDraft } from "../src/create-rules.js";
import { INACTIVE_NOTICE, describe as describeError, isSignedOut, rotateFailure } from "../src/messages.js";

const NOW = Date.parse("2026-12-05T12:00:00Z");
const draft = (fields: Partial<CreateDraft> = {}): CreateDraft => ({
  name: "ci-deploy",
  description: "",
  expiresOn: "2027-01-04",
  timeZone: "Europe/Paris",
  permissions: null,
  ...fields,
});

describe("create form rules", () => {
  it("accepts a good draft and builds the request body from it", () => {
    assert.deepEqual(validate(draft(), NOW, 366), {});
    assert.deepEqual(createRequest(draft({ name: "  ci  ", description: "  " })), {
      name: "ci",
      expiresOn: "2027-01-04",
      timeZone: "Europe/Paris",
    });
    assert.deepEqual(createRequest(draft({ permissions: ["catalog:read"], description: " d " })).permissions, ["catalog:read"]);
  });

  it("names each field in error", () => {
    const errors = validate(
      draft({ name: " ", description: "x".repeat(501), expiresOn: "2028-01-01", permissions: [] }),
      NOW,
      366,
    );
    assert.equal(errors.name, "Enter a name for the token.");
    assert.match(errors.description ?? "", /at most 500 characters/);
    assert.match(errors.expiresOn ?? "", /Mon 6 Dec 2027 or an earlier date: tokens last at most 366 days/);
    assert.match(errors.permissions ?? "", /at least one permission/);
    assert.match(validate(draft({ expiresOn: "2026-12-04" }), NOW, 366).expiresOn ?? "", /Choose today \(Sat 5 Dec 2026\)/);
    assert.equal(validate(draft({ timeZone: "Mars/Olympus" }), NOW, 366).timeZone, "Choose a time zone from the list.");
  });

  it("puts a server's field refusal on the field, and the rest on the form", () => {
    const field = createFailure(new ApiError(400, "invalid_field", "name: must be at most 100 characters", "name"), null);
    assert.deepEqual(field, { field: "name", message: "Name must be at most 100 characters." });
    const cap = createFailure(new ApiError(409, "token_limit_reached", "you already have 50 live tokens"), null);
    assert.match(cap.message, /^You already have 50 tokens, the most allowed\./);
    assert.match(createFailure(new ApiError(409, "conflict", "x"), { maxTokensPerUser: 60 }).message, /60 tokens/);
    const offline = createFailure(new ApiError(0, "network", "unreachable"), null);
    assert.equal(offline.reload, true);
    assert.match(createFailure(new ApiError(503, "busy", "x"), null).message, /nothing was created/);
  });
});

describe("messages", () => {
  it("knows a session that ended", () => {
    assert.equal(isSignedOut(new ApiError(401, "unauthenticated", "no")), true);
    assert.equal(isSignedOut(new ApiError(0, "signed_out", "no")), true);
    assert.equal(isSignedOut(new ApiError(403, "forbidden", "no")), false);
  });

  it("says what failed in a person's words", () => {
    assert.match(describeError(new ApiError(403, "forbidden", "x")), /not active/);
    assert.equal(describeError(new ApiError(404, "not_found", "no token abc")), "no token abc.");
    assert.match(rotateFailure(new ApiError(409, "conflict", "x")), /rotated somewhere else/);
    assert.match(rotateFailure(new ApiError(404, "not_found", "x")), /no longer exists/);
    assert.match(INACTIVE_NOTICE, /not active/);
  });
});
