/**
 * Dates, time zones and relative times for the token page. Pure functions on
 * epoch milliseconds and `YYYY-MM-DD` strings; only `Intl` is used, so the same
 * code runs in browsers and in Node for the unit tests.
 *
 * A token expires at the END of its `expiresOn` day in its `timeZone`: the first
 * instant of the next local day (which is not always 00:00: on some DST days
 * midnight does not exist and the day starts at 01:00).
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** The server's default when the list does not say (`MAX_TOKEN_LIFETIME_DAYS`). */
export const DEFAULT_MAX_LIFETIME_DAYS = 366;
/** Tokens expiring within this many days are marked. */
export const EXPIRING_SOON_DAYS = 7;

/** The language of the page's text and of its date formats. */
const LOCALE = "en-GB";

export interface CalendarDate {
  year: number;
  month: number; // 1-12
  day: number;
}

interface WallTime extends CalendarDate {
  hour: number;
  minute: number;
  second: number;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses `YYYY-MM-DD`; null unless it is a real calendar date. */
export function parseDate(text: string): CalendarDate | null {
  const match = DATE_RE.exec(text);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) {
    return null;
  }
  return { year, month, day };
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, "0");
}

export function formatDate(date: CalendarDate): string {
  return `${pad(date.year, 4)}-${pad(date.month)}-${pad(date.day)}`;
}

function requireDate(text: string): CalendarDate {
  const date = parseDate(text);
  if (!date) throw new RangeError(`not a date: ${text}`);
  return date;
}

/** Calendar arithmetic: `date` plus `days` days. */
export function addDays(text: string, days: number): string {
  const { year, month, day } = requireDate(text);
  const d = new Date(Date.UTC(year, month - 1, day + days));
  return formatDate({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() });
}

/** The same day `years` years later; 29 February becomes 28 February. */
export function addYears(text: string, years: number): string {
  const { year, month, day } = requireDate(text);
  const target = { year: year + years, month, day };
  return parseDate(formatDate(target)) ? formatDate(target) : formatDate({ ...target, day: day - 1 });
}

/** Whole days from `a` to `b` (both `YYYY-MM-DD`). */
export function daysBetween(a: string, b: string): number {
  const x = requireDate(a);
  const y = requireDate(b);
  return Math.round((Date.UTC(y.year, y.month - 1, y.day) - Date.UTC(x.year, x.month - 1, x.day)) / DAY_MS);
}

const wallFormatters = new Map<string, Intl.DateTimeFormat>();

function wallFormatter(zone: string): Intl.DateTimeFormat {
  let formatter = wallFormatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    wallFormatters.set(zone, formatter);
  }
  return formatter;
}

/** The local wall-clock time at `instant` in `zone`. */
function wallTime(instant: number, zone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const part of wallFormatter(zone).formatToParts(instant)) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year,
    month: parts.month,
    day: parts.day,
    hour: parts.hour % 24,
    minute: parts.minute,
    second: parts.second,
  };
}

function wallAsUtc(wall: WallTime): number {
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
}

/** The zone's offset from UTC at `instant`, in milliseconds (east positive). */
export function offsetAt(instant: number, zone: string): number {
  const whole = Math.floor(instant / 1000) * 1000;
  return wallAsUtc(wallTime(whole, zone)) - whole;
}

/** True if `zone` is a time zone this runtime knows. */
export function isKnownZone(zone: string): boolean {
  if (!zone) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * Names browsers still report (ICU's canonical ids) for zones IANA has renamed;
 * people look for the current names, and the server accepts both.
 */
const CURRENT_NAMES: Record<string, string> = {
  "Africa/Asmera": "Africa/Asmara",
  "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
  "America/Catamarca": "America/Argentina/Catamarca",
  "America/Cordoba": "America/Argentina/Cordoba",
  "America/Godthab": "America/Nuuk",
  "America/Indianapolis": "America/Indiana/Indianapolis",
  "America/Jujuy": "America/Argentina/Jujuy",
  "America/Louisville": "America/Kentucky/Louisville",
  "America/Mendoza": "America/Argentina/Mendoza",
  "Asia/Calcutta": "Asia/Kolkata",
  "Asia/Katmandu": "Asia/Kathmandu",
  "Asia/Rangoon": "Asia/Yangon",
  "Asia/Saigon": "Asia/Ho_Chi_Minh",
  "Atlantic/Faeroe": "Atlantic/Faroe",
  "Europe/Kiev": "Europe/Kyiv",
  "Pacific/Enderbury": "Pacific/Kanton",
  "Pacific/Ponape": "Pacific/Pohnpei",
  "Pacific/Truk": "Pacific/Chuuk",
};

/** The current IANA name of `zone` (Asia/Katmandu → Asia/Kathmandu). */
export function currentName(zone: string): string {
  const renamed = CURRENT_NAMES[zone];
  return renamed && isKnownZone(renamed) ? renamed : zone;
}

/** The browser's (or runtime's) time zone, by its current IANA name. */
export function localZone(): string {
  return currentName(new Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
}

/** Time zones to choose from: the runtime's IANA list by current names, plus UTC and `extra`. */
export function zoneList(...extra: string[]): string[] {
  const supported =
    typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const all = new Set([...supported.map(currentName), "UTC", ...extra.filter(isKnownZone)]);
  return [...all].sort();
}

/** Today's date in `zone` at `now`. */
export function todayIn(zone: string, now: number): string {
  return formatDate(wallTime(now, zone));
}

/**
 * The first instant of the local day `date` in `zone`. Usually local midnight;
 * when DST skips midnight (America/Sao_Paulo, 2018-11-04) the day starts at the
 * end of the gap; when midnight happens twice, at the first of them.
 */
export function startOfDay(date: string, zone: string): number {
  const { year, month, day } = requireDate(date);
  const wall = Date.UTC(year, month - 1, day);
  const offsets = new Set<number>();
  for (const probe of [wall - DAY_MS, wall, wall + DAY_MS]) {
    const offset = offsetAt(probe, zone);
    offsets.add(offset);
    offsets.add(offsetAt(wall - offset, zone));
  }
  const candidates = [...offsets].map((offset) => wall - offset).sort((a, b) => a - b);
  const exact = candidates.filter((t) => wallAsUtc(wallTime(t, zone)) === wall);
  if (exact.length > 0) return exact[0];
  // Midnight does not exist: the day starts at the transition, the first instant
  // whose wall time is at or after midnight. Transitions fall on whole minutes.
  let low = candidates[0]; // wall time before midnight
  let high = candidates[candidates.length - 1]; // wall time after midnight
  while (high - low > MINUTE_MS) {
    const mid = low + Math.floor((high - low) / 2 / MINUTE_MS) * MINUTE_MS;
    if (wallAsUtc(wallTime(mid, zone)) >= wall) high = mid;
    else low = mid;
  }
  return wallAsUtc(wallTime(low, zone)) >= wall ? low : high;
}

/** When a token with this `expiresOn` and `timeZone` stops working (epoch ms). */
export function endOfDay(date: string, zone: string): number {
  return startOfDay(addDays(date, 1), zone);
}

export interface DateRange {
  min: string;
  max: string;
}

/** Dates allowed for `expiresOn` in `zone`: today there, up to today + `maxDays`. */
export function allowedRange(zone: string, now: number, maxDays = DEFAULT_MAX_LIFETIME_DAYS): DateRange {
  const min = todayIn(zone, now);
  return { min, max: addDays(min, maxDays) };
}

export function inRange(date: string, range: DateRange): boolean {
  return parseDate(date) !== null && date >= range.min && date <= range.max;
}

export interface QuickPick {
  label: string;
  date: string;
}

/** Quick picks for the expiration date (7, 30, 90 days, 1 year), those allowed. */
export function quickPicks(zone: string, now: number, maxDays = DEFAULT_MAX_LIFETIME_DAYS): QuickPick[] {
  const range = allowedRange(zone, now, maxDays);
  const picks: QuickPick[] = [
    { label: "7 days", date: addDays(range.min, 7) },
    { label: "30 days", date: addDays(range.min, 30) },
    { label: "90 days", date: addDays(range.min, 90) },
    { label: "1 year", date: addYears(range.min, 1) },
  ];
  return picks.filter((pick) => pick.date <= range.max);
}

/** The default expiration date: 30 days ahead, or the latest allowed if sooner. */
export function defaultExpiry(zone: string, now: number, maxDays = DEFAULT_MAX_LIFETIME_DAYS): string {
  const range = allowedRange(zone, now, maxDays);
  const wanted = addDays(range.min, 30);
  return wanted <= range.max ? wanted : range.max;
}

const dayParts = new Intl.DateTimeFormat(LOCALE, {
  timeZone: "UTC",
  weekday: "short",
  day: "numeric",
  month: "short",
  year: "numeric",
});

function dayLabelAt(instant: number, formatter: Intl.DateTimeFormat): string {
  const parts: Record<string, string> = {};
  for (const part of formatter.formatToParts(instant)) parts[part.type] = part.value;
  return `${parts.weekday} ${parts.day} ${parts.month} ${parts.year}`;
}

/** `2026-12-31` → "Thu 31 Dec 2026". */
export function dayLabel(date: string): string {
  const { year, month, day } = requireDate(date);
  return dayLabelAt(Date.UTC(year, month - 1, day), dayParts);
}

/** The one way the page spells an expiry: "Thu 31 Dec 2026, end of day in Europe/Paris". */
export function expiryLabel(expiresOn: string, zone: string): string {
  return `${dayLabel(expiresOn)}, end of day in ${zone}`;
}

const zonedFormatters = new Map<string, Intl.DateTimeFormat>();

/** "Fri 1 Jan 2027, 00:00" for `instant` in `zone`. */
export function dateTimeLabel(instant: number, zone: string): string {
  let formatter = zonedFormatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat(LOCALE, {
      timeZone: zone,
      weekday: "short",
      day: "numeric",
      month: "short",
      year: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    zonedFormatters.set(zone, formatter);
  }
  const parts: Record<string, string> = {};
  for (const part of formatter.formatToParts(instant)) parts[part.type] = part.value;
  return `${parts.weekday} ${parts.day} ${parts.month} ${parts.year}, ${parts.hour}:${parts.minute}`;
}

/** "Wed 25 Nov 2026" for `instant` in `zone`. */
export function instantDayLabel(instant: number, zone: string): string {
  return dateTimeLabel(instant, zone).split(",")[0];
}

const relativeFormat = new Intl.RelativeTimeFormat(LOCALE, { numeric: "always" });

/**
 * `target` relative to `now`: "in 35 days", "3 hours ago", "just now". Units are
 * whole minutes, hours or days, rounded towards zero ("in 7 days" for 7.9 days).
 */
export function relativeTime(target: number, now: number): string {
  const diff = target - now;
  const size = Math.abs(diff);
  if (size < MINUTE_MS) return diff > 0 ? "in less than a minute" : "just now";
  const sign = diff < 0 ? -1 : 1;
  if (size < HOUR_MS) return relativeFormat.format(sign * Math.floor(size / MINUTE_MS), "minute");
  if (size < DAY_MS) return relativeFormat.format(sign * Math.floor(size / HOUR_MS), "hour");
  return relativeFormat.format(sign * Math.floor(size / DAY_MS), "day");
}

/**
 * A past event ("created", "last used") relative to `now`: never in the future,
 * even when the server's clock is a little ahead of the browser's.
 */
export function relativePast(event: number, now: number): string {
  return relativeTime(Math.min(event, now), now);
}

/** True if a token expiring at `expiresAt` is within EXPIRING_SOON_DAYS of `now`. */
export function isExpiringSoon(expiresAt: number, now: number, days = EXPIRING_SOON_DAYS): boolean {
  return expiresAt - now <= days * DAY_MS;
}

/**
 * The live line under the date: when a token with this expiry stops working, in
 * the person's own zone.
 */
export function stopsWorkingLine(expiresOn: string, zone: string, personZone: string, now: number): string {
  const at = endOfDay(expiresOn, zone);
  const local = dateTimeLabel(at, personZone);
  const when = relativeTime(at, now);
  if (zone === personZone) {
    return `The token stops working at the end of ${dayLabel(expiresOn)}: ${local} your time (${personZone}), ${when}.`;
  }
  return `The token stops working at the end of ${dayLabel(expiresOn)} in ${zone}: that is ${local} your time (${personZone}), ${when}.`;
}
