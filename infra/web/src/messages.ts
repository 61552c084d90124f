/** What the page says when a call fails (pure, unit-tested). */
import { ApiError } from "./api.js";

/** True when the session is gone: the API answered 401, or there is no session to send. */
export function isSignedOut(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 401 || error.code === "signed_out");
}

/** A person-readable sentence for a failed call. */
export function describe(error: unknown): string {
  if (!(error instanceof ApiError)) return "Something went wrong. Please try again.";
  switch (error.status) {
    case 0:
      return "The token service could not be reached. Check your connection, then try again.";
    case 403:
      return "Your account may not manage tokens (it is not active). Ask an administrator.";
    case 429:
    case 503:
      return "The token service is busy right now. Please try again in a moment.";
    default:
      if (error.status >= 500) return "The token service had a problem. Please try again in a moment.";
      return error.message.endsWith(".") ? error.message : `${error.message}.`;
  }
}

/** "1 token", "3 tokens". */
export function countLabel(n: number): string {
  return `${n} token${n === 1 ? "" : "s"}`;
}

/** Why a rotation failed, in the rotate dialog. */
export function rotateFailure(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 409) {
      return "This token was rotated somewhere else just now. The list is refreshed: check it before rotating again.";
    }
    if ((error.status === 404 || error.status === 403) && !error.field) {
      return error.code === "not_found"
        ? "This token no longer exists (revoked or expired)."
        : "Rotation is not available on this server.";
    }
  }
  return `The token was not rotated. ${describe(error)}`;
}

/** The notice for an account that cannot give a token anything (told on arrival). */
export const INACTIVE_NOTICE =
  "Your account is not active in patgate, or its roles give it no permissions: you cannot create or rotate tokens. " +
  "Ask an administrator.";
