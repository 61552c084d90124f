import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  OAuthError,
  authorizeUrl,
  base64url,
  challengeS256,
  cognitoSettings,
  parseCallback,
  parseTokenResponse,
  randomState,
  randomVerifier,
  tokenRequest,
  verifierFromBytes,
} from "../src/oauth.js";

// RFC 7636, appendix B.
const RFC_OCTETS = new Uint8Array([
  116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191, 240, 91,
  88, 5, 88, 83, 132, 141, 121,
]);
const RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

const settings = {
  cognitoDomain: "auth.example.com",
  clientId: "abc123",
  redirectUri: "https://portal.example.com/settings/tokens/",
  scope: "openid",
};

describe("PKCE (RFC 7636)", () => {
  it("builds the verifier from 32 octets (appendix B)", () => {
    assert.equal(verifierFromBytes(RFC_OCTETS), RFC_VERIFIER);
  });

  it("derives the S256 challenge (appendix B)", async () => {
    assert.equal(await challengeS256(RFC_VERIFIER), RFC_CHALLENGE);
  });

  it("random verifiers are 43 unreserved characters, and differ", () => {
    const a = randomVerifier();
    const b = randomVerifier();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, b);
    assert.match(randomState(), /^[A-Za-z0-9_-]{22}$/);
  });

  it("refuses short octet strings and malformed verifiers", async () => {
    assert.throws(() => verifierFromBytes(new Uint8Array(16)), OAuthError);
    await assert.rejects(challengeS256("too-short"), OAuthError);
    await assert.rejects(challengeS256(`${RFC_VERIFIER}+/=`), OAuthError);
  });

  it("base64url has no padding nor + and /", () => {
    assert.equal(base64url(new Uint8Array([251, 255])), "-_8");
  });
});

describe("hosted UI", () => {
  it("builds the authorize URL", () => {
    const url = new URL(authorizeUrl(settings, "st4te", RFC_CHALLENGE));
    assert.equal(url.origin, "https://auth.example.com");
    assert.equal(url.pathname, "/oauth2/authorize");
    assert.deepEqual(Object.fromEntries(url.searchParams), {
      response_type: "code",
      client_id: "abc123",
      redirect_uri: "https://portal.example.com/settings/tokens/",
      scope: "openid",
      state: "st4te",
      code_challenge: RFC_CHALLENGE,
      code_challenge_method: "S256",
    });
  });

  it("reads the callback: the code when the state matches", () => {
    assert.equal(parseCallback("https://portal.example.com/t/?code=c0de&state=st4te", "st4te"), "c0de");
    assert.equal(parseCallback("https://portal.example.com/t/", "st4te"), null);
  });

  it("refuses a state mismatch, a missing state and an unexpected callback", () => {
    const mismatch = (fn: () => unknown) =>
      assert.throws(fn, (e: unknown) => e instanceof OAuthError && e.code === "state_mismatch");
    mismatch(() => parseCallback("https://p.example.com/?code=c0de&state=other", "st4te"));
    mismatch(() => parseCallback("https://p.example.com/?code=c0de", "st4te"));
    mismatch(() => parseCallback("https://p.example.com/?code=c0de&state=st4te", null));
    mismatch(() => parseCallback("https://p.example.com/?code=c0de&state=", ""));
  });

  it("reports the hosted UI's error", () => {
    assert.throws(
      () => parseCallback("https://p.example.com/?error=access_denied&error_description=nope&state=st4te", "st4te"),
      (e: unknown) => e instanceof OAuthError && e.code === "access_denied" && /nope/.test(e.message),
    );
  });

  it("builds the code exchange", () => {
    const request = tokenRequest(settings, "c0de", RFC_VERIFIER);
    assert.equal(request.url, "https://auth.example.com/oauth2/token");
    assert.equal(request.init.method, "POST");
    assert.equal(request.init.headers["Content-Type"], "application/x-www-form-urlencoded");
    assert.equal(request.init.credentials, "omit");
    assert.deepEqual(Object.fromEntries(new URLSearchParams(request.init.body)), {
      grant_type: "authorization_code",
      client_id: "abc123",
      code: "c0de",
      redirect_uri: "https://portal.example.com/settings/tokens/",
      code_verifier: RFC_VERIFIER,
    });
  });

  it("parses the token response", () => {
    const idToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln";
    assert.deepEqual(
      parseTokenResponse(200, { id_token: idToken, access_token: "a.b.c", token_type: "Bearer", expires_in: 3600 }),
      { idToken, accessToken: "a.b.c", tokenType: "Bearer", expiresIn: 3600 },
    );
    const code = (status: number, body: unknown) => {
      try {
        parseTokenResponse(status, body);
      } catch (e) {
        return (e as OAuthError).code;
      }
      return "ok";
    };
    assert.equal(code(400, { error: "invalid_grant" }), "invalid_grant");
    assert.equal(code(200, { access_token: "a.b.c", token_type: "Bearer" }), "no_id_token");
    assert.equal(code(200, { id_token: "not-a-jwt", token_type: "Bearer" }), "no_id_token");
    assert.equal(code(200, { id_token: idToken, token_type: "mac" }), "bad_token_type");
    assert.equal(code(500, null), "token_error");
  });

  it("checks the settings from config.json", () => {
    const page = "https://portal.example.com/tokens/index.html?x=1";
    assert.deepEqual(cognitoSettings({ cognitoDomain: "Auth.Example.com", clientId: "abc123" }, page), {
      cognitoDomain: "auth.example.com",
      clientId: "abc123",
      redirectUri: "https://portal.example.com/tokens/index.html",
      scope: "openid",
    });
    assert.throws(() => cognitoSettings({ cognitoDomain: "https://auth.example.com", clientId: "abc" }, page), OAuthError);
    assert.throws(() => cognitoSettings({ cognitoDomain: "evil.com/x?", clientId: "abc" }, page), OAuthError);
    assert.throws(() => cognitoSettings({ cognitoDomain: "auth.example.com" }, page), OAuthError);
    assert.throws(
      () => cognitoSettings({ cognitoDomain: "auth.example.com", clientId: "abc", redirectUri: "http://portal.example.com/" }, page),
      OAuthError,
    );
    assert.equal(
      cognitoSettings({ cognitoDomain: "auth.example.com", clientId: "abc" }, "http://127.0.0.1:8080/").redirectUri,
      "http://127.0.0.1:8080/",
    );
  });
});
