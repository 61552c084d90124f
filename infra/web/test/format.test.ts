import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { charCount, durationLabel, fieldLabel, fieldMessage, revokedReasonLabel, shortUserAgent } from "../src/format.js";

describe("format", () => {
  it("counts characters as the server does", () => {
    assert.equal(charCount("ci-deploy"), 9);
    assert.equal(charCount("🔑 key"), 5);
  });

  it("maps API fields to form labels", () => {
    assert.equal(fieldLabel("expiresOn"), "Expiration date");
    assert.equal(fieldLabel("timeZone"), "Time zone");
    assert.equal(fieldLabel("body"), undefined);
    assert.equal(fieldLabel(undefined), undefined);
  });

  it("rewords the server's field messages", () => {
    assert.equal(fieldMessage("name", "name: must be at most 100 characters"), "Name must be at most 100 characters.");
    assert.equal(fieldMessage("name", "name: is required"), "Name is required.");
    assert.equal(
      fieldMessage("expiresOn", "expiresOn: expiresOn 2000-01-01 is already past in Europe/Paris (today there is 2026-11-26)"),
      "Expiration date 2000-01-01 is already past in Europe/Paris (today there is 2026-11-26)",
    );
    assert.equal(fieldMessage("permissions", "unknown permission nope"), "Unknown permission nope.");
  });

  it("shortens user agents", () => {
    assert.equal(shortUserAgent("curl/8.5.0"), "curl/8.5.0");
    assert.equal(shortUserAgent("python-requests/2.32.3"), "python-requests/2.32.3");
    assert.equal(
      shortUserAgent(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
      ),
      "Chrome 131",
    );
    assert.equal(
      shortUserAgent(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
      ),
      "Edge 131",
    );
    assert.equal(shortUserAgent("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"), "Firefox 133");
    assert.equal(
      shortUserAgent(
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
      ),
      "Safari 18",
    );
    assert.equal(shortUserAgent(null), "");
    assert.equal(shortUserAgent("x".repeat(60)).length, 40);
  });

  it("labels durations and revocation reasons", () => {
    assert.equal(durationLabel(0), "none");
    assert.equal(durationLabel(3600), "1 hour");
    assert.equal(durationLabel(86400), "1 day");
    assert.equal(durationLabel(5400), "90 minutes");
    assert.equal(revokedReasonLabel("user"), "Revoked by you");
    assert.equal(revokedReasonLabel("leaked"), "Reported as leaked");
    assert.equal(revokedReasonLabel("offboarded"), "Account offboarded");
    assert.equal(revokedReasonLabel("something-new"), "Revoked");
    assert.equal(revokedReasonLabel(null), "Revoked");
  });
});
