/**
 * The create form's rules (pure, unit-tested): what it checks before sending, and
 * how a refusal from the server reads on the form.
 */
import { ApiError, type CreateRequest, type Limits } from "./api.js";
import { charCount, fieldLabel, fieldMessage } from "./format.js";
import { describe } from "./messages.js";
import * as time from "./time.js";

export const NAME_MAX = 100;
export const DESCRIPTION_MAX = 500;
/** The fields in the order a person meets them (the first in error takes focus). */
export const FIELD_ORDER = ["name", "description", "expiresOn", "timeZone", "permissions"];

export type FieldErrors = Partial<Record<string, string>>;

/** What a person typed or chose in the form: what survives a session that ends mid-create. */
export interface CreateDraft {
  name: string;
  description: string;
  expiresOn: string;
  timeZone: string;
  /** null: all of the owner's permissions; a list: only those. */
  permissions: string[] | null;
}

export function maxLifetimeDays(limits: Limits | null | undefined): number {
  const days = limits?.maxTokenLifetimeDays;
  return typeof days === "number" && days >= 0 ? days : time.DEFAULT_MAX_LIFETIME_DAYS;
}

/** The form's own checks, before anything is sent. */
export function validate(draft: CreateDraft, now: number, maxDays: number): FieldErrors {
  const errors: FieldErrors = {};
  const name = draft.name.trim();
  if (!name) errors.name = "Enter a name for the token.";
  else if (charCount(name) > NAME_MAX) errors.name = `Use at most ${NAME_MAX} characters for the name.`;
  if (charCount(draft.description.trim()) > DESCRIPTION_MAX) {
    errors.description = `Use at most ${DESCRIPTION_MAX} characters for the description.`;
  }
  if (!time.isKnownZone(draft.timeZone)) {
    errors.timeZone = "Choose a time zone from the list.";
  }
  const range = time.allowedRange(time.isKnownZone(draft.timeZone) ? draft.timeZone : "UTC", now, maxDays);
  if (!time.parseDate(draft.expiresOn)) errors.expiresOn = "Enter an expiration date.";
  else if (draft.expiresOn < range.min) {
    errors.expiresOn = `Choose today (${time.dayLabel(range.min)}) or a later date.`;
  } else if (draft.expiresOn > range.max) {
    errors.expiresOn = `Choose ${time.dayLabel(range.max)} or an earlier date: tokens last at most ${maxDays} days.`;
  }
  if (Array.isArray(draft.permissions) && draft.permissions.length === 0) {
    errors.permissions = "Choose at least one permission, or give the token all of yours.";
  }
  return errors;
}

/** The body of `POST /tokens` for a draft that passed `validate`. */
export function createRequest(draft: CreateDraft): CreateRequest {
  const description = draft.description.trim();
  return {
    name: draft.name.trim(),
    ...(description ? { description } : {}),
    expiresOn: draft.expiresOn,
    timeZone: draft.timeZone,
    ...(Array.isArray(draft.permissions) ? { permissions: [...draft.permissions] } : {}),
  };
}

export interface CreateFailure {
  /** The field the server named, when the form has it; else the message is the form's. */
  field?: string;
  message: string;
  /** The list should be reloaded to see whether the token was created after all. */
  reload?: boolean;
}

/** How a refused or failed create reads on the form. */
export function createFailure(error: unknown, limits: Limits | null | undefined): CreateFailure {
  if (!(error instanceof ApiError)) {
    return { message: "The token was not created. Something went wrong; please try again." };
  }
  const field = error.field;
  if (error.status === 400 && error.code === "invalid_field" && field && field !== "graceSeconds" && fieldLabel(field)) {
    return { field, message: fieldMessage(field, error.message) };
  }
  if (error.status === 409) {
    // The cap: from the list's limits, else from the server's message ("… 50 live tokens …").
    const cap = limits?.maxTokensPerUser ?? Number(/(\d+) live tokens/.exec(error.message)?.[1] ?? 0);
    return {
      message:
        `You already have ${cap ? `${cap} tokens, the most allowed` : "the most tokens allowed"}. ` +
        "Revoke a token you no longer use, then create this one.",
    };
  }
  if (error.status === 503 || error.status === 429) {
    return { message: "The token service is busy right now and nothing was created. Please try again in a moment." };
  }
  if (error.status === 413) return { message: "The request is too large. Shorten the description, then try again." };
  if (error.status === 0) {
    return {
      message:
        "The token service could not be reached. Check your connection; the list is refreshed so that you can see whether the token was created.",
      reload: true,
    };
  }
  if (error.status === 400) return { message: `The token was not created: ${describe(error)}` };
  return { message: `The token was not created. ${describe(error)}` };
}
