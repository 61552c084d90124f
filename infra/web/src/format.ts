/** Small text helpers of the token page (pure, unit-tested). */

/** Length as the server counts it: Unicode scalar values, not UTF-16 units. */
export function charCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

const FIELD_LABELS: Record<string, string> = {
  name: "Name",
  description: "Description",
  expiresOn: "Expiration date",
  timeZone: "Time zone",
  permissions: "Permissions",
  graceSeconds: "Grace period",
};

/** The form label of an API field name, if the form has that field. */
export function fieldLabel(field: string | undefined): string | undefined {
  return field ? FIELD_LABELS[field] : undefined;
}

/**
 * The server's field message in the form's words: "name: must be at most 100
 * characters" → "Name must be at most 100 characters."
 */
export function fieldMessage(field: string, message: string): string {
  const label = fieldLabel(field) ?? field;
  let rest = message.trim();
  if (rest.startsWith(`${field}:`)) rest = rest.slice(field.length + 1).trim();
  if (/^(is|must|may|should|cannot|can't|contains)\b/.test(rest)) rest = `${label} ${rest}`;
  else if (rest.startsWith(`${field} `)) rest = `${label} ${rest.slice(field.length + 1)}`;
  rest = rest.charAt(0).toUpperCase() + rest.slice(1);
  return /[.!?)]$/.test(rest) ? rest : `${rest}.`;
}

/**
 * A short form of a User-Agent header: "Chrome 131", "Firefox 133", "curl/8.5.0",
 * "python-requests/2.32.3".
 */
export function shortUserAgent(agent: string | null | undefined): string {
  if (!agent) return "";
  const text = agent.trim();
  if (text.startsWith("Mozilla/")) {
    const browsers: Array<[RegExp, string]> = [
      [/\bEdg(?:e|A|iOS)?\/(\d+)/, "Edge"],
      [/\bOPR\/(\d+)/, "Opera"],
      [/\bFirefox\/(\d+)/, "Firefox"],
      [/\bFxiOS\/(\d+)/, "Firefox"],
      [/\bCriOS\/(\d+)/, "Chrome"],
      [/\bChrom(?:e|ium)\/(\d+)/, "Chrome"],
      [/\bVersion\/(\d+)[\d.]* (?:Mobile\/\S+ )?Safari\//, "Safari"],
    ];
    for (const [pattern, name] of browsers) {
      const match = pattern.exec(text);
      if (match) return `${name} ${match[1]}`;
    }
  }
  const first = text.split(/\s+/)[0];
  return first.length > 40 ? `${first.slice(0, 39)}…` : first;
}

const REVOKE_REASONS: Record<string, string> = {
  user: "Revoked by you",
  leaked: "Reported as leaked",
  offboarded: "Account offboarded",
  admin: "Revoked by an administrator",
};

/** Why a token was revoked, short enough for a badge. */
export function revokedReasonLabel(reason: string | null | undefined): string {
  return (reason && REVOKE_REASONS[reason]) || "Revoked";
}

/** "1 hour", "1 day", "90 minutes", "none". */
export function durationLabel(seconds: number): string {
  if (seconds <= 0) return "none";
  const units: Array<[number, string]> = [
    [86_400, "day"],
    [3_600, "hour"],
    [60, "minute"],
    [1, "second"],
  ];
  for (const [size, unit] of units) {
    if (seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${unit}${n === 1 ? "" : "s"}`;
    }
  }
  return `${seconds} seconds`;
}
