/**
 * Sign-in with the Cognito hosted UI: OAuth 2.0 authorization code flow with PKCE
 * (RFC 7636, S256) and a state check. Pure functions (randomness and the digest
 * are passed in or taken from Web Crypto), so every step is unit-tested; the page
 * does the navigation and the one fetch.
 */

export interface CognitoSettings {
  /** Host name of the user pool's domain, e.g. `auth.example.com` (no scheme, no path). */
  cognitoDomain: string;
  clientId: string;
  redirectUri: string;
  scope?: string;
}

export interface TokenResponse {
  idToken: string;
  accessToken?: string;
  tokenType: string;
  expiresIn: number;
}

export class OAuthError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "OAuthError";
  }
}

const DOMAIN_RE = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/i;
const VERIFIER_RE = /^[A-Za-z0-9\-._~]{43,128}$/;

/** base64url without padding (RFC 7636 appendix A). */
export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** A code verifier from 32 random octets: 43 characters of base64url. */
export function verifierFromBytes(bytes: Uint8Array): string {
  if (bytes.length < 32) throw new OAuthError("weak_verifier", "a code verifier needs at least 32 random octets");
  return base64url(bytes);
}

type RandomFill = (bytes: Uint8Array) => Uint8Array;

const webRandom: RandomFill = (bytes) => globalThis.crypto.getRandomValues(bytes);

export function randomVerifier(fill: RandomFill = webRandom): string {
  return verifierFromBytes(fill(new Uint8Array(32)));
}

/** An opaque state value to bind the callback to this browser tab. */
export function randomState(fill: RandomFill = webRandom): string {
  return base64url(fill(new Uint8Array(16)));
}

/** code_challenge = BASE64URL(SHA256(ASCII(code_verifier))). */
export async function challengeS256(verifier: string, subtle: SubtleCrypto = globalThis.crypto.subtle): Promise<string> {
  if (!VERIFIER_RE.test(verifier)) throw new OAuthError("invalid_verifier", "the code verifier is malformed");
  const digest = await subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** Checks the settings read from config.json; throws on anything unexpected. */
export function cognitoSettings(raw: Record<string, unknown>, pageUrl: string): CognitoSettings {
  const domain = raw.cognitoDomain;
  const clientId = raw.clientId;
  if (typeof domain !== "string" || !DOMAIN_RE.test(domain)) {
    throw new OAuthError("bad_config", "cognitoDomain must be a host name such as auth.example.com");
  }
  if (typeof clientId !== "string" || !/^[A-Za-z0-9]{1,128}$/.test(clientId)) {
    throw new OAuthError("bad_config", "clientId must be the app client's id");
  }
  const page = new URL(pageUrl);
  const redirectUri = typeof raw.redirectUri === "string" ? raw.redirectUri : `${page.origin}${page.pathname}`;
  const redirect = new URL(redirectUri);
  if (redirect.protocol !== "https:" && !["localhost", "127.0.0.1"].includes(redirect.hostname)) {
    throw new OAuthError("bad_config", "redirectUri must be https (or http on localhost)");
  }
  const scope = typeof raw.scope === "string" ? raw.scope : "openid";
  return { cognitoDomain: domain.toLowerCase(), clientId, redirectUri, scope };
}

/** The hosted UI's authorize URL. */
export function authorizeUrl(settings: CognitoSettings, state: string, challenge: string): string {
  const url = new URL(`https://${settings.cognitoDomain}/oauth2/authorize`);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: settings.clientId,
    redirect_uri: settings.redirectUri,
    scope: settings.scope ?? "openid",
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  return url.toString();
}

/**
 * Reads the hosted UI's redirect back. Null if `url` is no callback (no code, no
 * error); the code if the state matches the one this tab sent; throws otherwise.
 */
export function parseCallback(url: string, expectedState: string | null | undefined): string | null {
  const params = new URL(url).searchParams;
  const error = params.get("error");
  const code = params.get("code");
  if (!error && !code) return null;
  const state = params.get("state");
  if (!expectedState || !state || state !== expectedState) {
    throw new OAuthError("state_mismatch", "The sign-in answer does not match this sign-in attempt. Sign in again.");
  }
  if (error) {
    const description = params.get("error_description");
    throw new OAuthError(error, description ? `Sign-in failed: ${description}` : `Sign-in failed (${error}).`);
  }
  return code;
}

export interface TokenRequest {
  url: string;
  init: { method: "POST"; headers: Record<string, string>; body: string; credentials: "omit"; cache: "no-store" };
}

/** The code exchange at the domain's token endpoint (public client: no secret). */
export function tokenRequest(settings: CognitoSettings, code: string, verifier: string): TokenRequest {
  return {
    url: `https://${settings.cognitoDomain}/oauth2/token`,
    init: {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        client_id: settings.clientId,
        code,
        redirect_uri: settings.redirectUri,
        code_verifier: verifier,
      }).toString(),
      credentials: "omit",
      cache: "no-store",
    },
  };
}

/** Reads the token endpoint's answer; throws unless it holds an ID token. */
export function parseTokenResponse(status: number, body: unknown): TokenResponse {
  const data = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
  if (status !== 200) {
    const error = typeof data.error === "string" ? data.error : "token_error";
    throw new OAuthError(error, `Sign-in failed: the token endpoint answered ${status} (${error}).`);
  }
  const idToken = data.id_token;
  if (typeof idToken !== "string" || idToken.split(".").length !== 3) {
    throw new OAuthError("no_id_token", "Sign-in failed: no ID token in the answer (is the openid scope allowed?).");
  }
  const tokenType = typeof data.token_type === "string" ? data.token_type : "";
  if (tokenType.toLowerCase() !== "bearer") {
    throw new OAuthError("bad_token_type", `Sign-in failed: unexpected token type ${JSON.stringify(tokenType)}.`);
  }
  const expiresIn = typeof data.expires_in === "number" && data.expires_in > 0 ? data.expires_in : 3600;
  const accessToken = typeof data.access_token === "string" ? data.access_token : undefined;
  return { idToken, accessToken, tokenType, expiresIn };
}
