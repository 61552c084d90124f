/** Rotation's choices (pure, unit-tested): the grace periods offered for the old secret. */

export const GRACE_CHOICES = [0, 3_600, 86_400];
/** The grace period selected at first: an hour, time for what uses the token to take the new one. */
export const DEFAULT_GRACE_SECONDS = 3_600;

/** The grace periods the server allows, and the one selected at first (the longest allowed up to an hour). */
export function graceChoices(maxGraceSeconds: number | undefined): { choices: number[]; preferred: number } {
  const choices = GRACE_CHOICES.filter((s) => typeof maxGraceSeconds !== "number" || s <= maxGraceSeconds);
  const preferred = [...choices].reverse().find((s) => s <= DEFAULT_GRACE_SECONDS) ?? 0;
  return { choices, preferred };
}
