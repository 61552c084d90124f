import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as time from "../src/time.js";

const at = (iso: string) => Date.parse(iso);
const DAY = time.DAY_MS;

describe("endOfDay: the first instant of the next local day", () => {
  const cases: Array<[string, string, string, string]> = [
    ["Europe/Paris", "2026-12-31", "2026-12-31T23:00:00Z", "winter, +01:00"],
    ["Europe/Paris", "2026-07-14", "2026-07-14T22:00:00Z", "summer, +02:00"],
    ["UTC", "2026-12-31", "2027-01-01T00:00:00Z", "UTC"],
    ["Asia/Kathmandu", "2026-12-31", "2026-12-31T18:15:00Z", "+05:45"],
    ["Asia/Kolkata", "2026-12-31", "2026-12-31T18:30:00Z", "+05:30"],
    ["Australia/Adelaide", "2027-01-15", "2027-01-15T13:30:00Z", "+10:30 in summer (DST)"],
    ["Australia/Adelaide", "2026-07-15", "2026-07-15T14:30:00Z", "+09:30 in winter"],
    ["Pacific/Chatham", "2027-01-15", "2027-01-15T10:15:00Z", "+13:45 (DST)"],
    ["America/New_York", "2026-11-01", "2026-11-02T05:00:00Z", "the day DST ends: 25 hours long"],
    ["Europe/London", "2026-03-29", "2026-03-29T23:00:00Z", "the day DST starts: 23 hours long"],
    ["America/Sao_Paulo", "2018-11-03", "2018-11-04T03:00:00Z", "next day has no midnight: it starts at 01:00"],
    ["America/Sao_Paulo", "2018-11-04", "2018-11-05T02:00:00Z", "the short day itself"],
    ["America/Havana", "2026-03-07", "2026-03-08T05:00:00Z", "midnight skipped by DST"],
    ["America/Havana", "2026-10-31", "2026-11-01T04:00:00Z", "midnight happens twice: the first one"],
    ["Pacific/Kiritimati", "2026-12-31", "2026-12-31T10:00:00Z", "+14:00"],
    ["Pacific/Pago_Pago", "2026-12-31", "2027-01-01T11:00:00Z", "-11:00"],
  ];
  for (const [zone, date, expected, why] of cases) {
    it(`${date} in ${zone} (${why})`, () => {
      assert.equal(new Date(time.endOfDay(date, zone)).toISOString(), new Date(expected).toISOString());
    });
  }

  it("startOfDay is the previous day's end", () => {
    assert.equal(time.startOfDay("2027-01-01", "Europe/Paris"), time.endOfDay("2026-12-31", "Europe/Paris"));
  });
});

describe("expiry display", () => {
  it("shows the end of the chosen day in its zone", () => {
    assert.equal(time.dayLabel("2026-12-31"), "Thu 31 Dec 2026");
    assert.equal(time.expiryLabel("2026-12-31", "Europe/Paris"), "Thu 31 Dec 2026, end of day in Europe/Paris");
    assert.equal(time.expiryLabel("2028-02-29", "Asia/Kathmandu"), "Tue 29 Feb 2028, end of day in Asia/Kathmandu");
  });

  it("shows an instant in a zone", () => {
    assert.equal(time.dateTimeLabel(at("2026-12-31T23:00:00Z"), "Europe/Paris"), "Fri 1 Jan 2027, 00:00");
    assert.equal(time.dateTimeLabel(at("2026-12-31T23:00:00Z"), "America/New_York"), "Thu 31 Dec 2026, 18:00");
    assert.equal(time.instantDayLabel(at("2026-11-25T23:30:00Z"), "Asia/Kathmandu"), "Thu 26 Nov 2026");
  });

  it("the live line says when the token stops working, in the person's zone", () => {
    const now = at("2026-11-25T10:20:00Z");
    assert.equal(
      time.stopsWorkingLine("2026-12-31", "Europe/Paris", "Europe/Paris", now),
      "The token stops working at the end of Thu 31 Dec 2026: Fri 1 Jan 2027, 00:00 your time (Europe/Paris), in 36 days.",
    );
    assert.equal(
      time.stopsWorkingLine("2026-12-31", "America/New_York", "Europe/Paris", now),
      "The token stops working at the end of Thu 31 Dec 2026 in America/New_York: that is Fri 1 Jan 2027, 06:00 your time (Europe/Paris), in 36 days.",
    );
    assert.match(
      time.stopsWorkingLine("2026-12-31", "Asia/Kathmandu", "Europe/Paris", now),
      /that is Thu 31 Dec 2026, 19:15 your time \(Europe\/Paris\)/,
    );
  });
});

describe("allowed date range per zone", () => {
  it("starts today in the chosen zone, which may differ from UTC's today", () => {
    const now = at("2026-11-25T20:00:00Z");
    assert.deepEqual(time.allowedRange("UTC", now), { min: "2026-11-25", max: "2027-11-26" });
    assert.deepEqual(time.allowedRange("America/New_York", now), { min: "2026-11-25", max: "2027-11-26" });
    assert.deepEqual(time.allowedRange("Asia/Kathmandu", now), { min: "2026-11-26", max: "2027-11-27" });
    assert.deepEqual(time.allowedRange("Asia/Kolkata", now), { min: "2026-11-26", max: "2027-11-27" });
    assert.deepEqual(time.allowedRange("Pacific/Pago_Pago", at("2026-11-25T10:00:00Z")), {
      min: "2026-11-24",
      max: "2027-11-25",
    });
    assert.deepEqual(time.allowedRange("Pacific/Kiritimati", at("2026-11-25T10:00:00Z")).min, "2026-11-26");
  });

  it("turns over at local midnight of a :45 zone", () => {
    assert.equal(time.todayIn("Asia/Kathmandu", at("2026-11-25T18:14:59Z")), "2026-11-25");
    assert.equal(time.todayIn("Asia/Kathmandu", at("2026-11-25T18:15:00Z")), "2026-11-26");
    assert.equal(time.todayIn("Australia/Adelaide", at("2027-01-15T13:29:59Z")), "2027-01-15");
    assert.equal(time.todayIn("Australia/Adelaide", at("2027-01-15T13:30:00Z")), "2027-01-16");
  });

  it("counts calendar days, across a 29 February and DST changes", () => {
    assert.equal(time.allowedRange("Europe/Paris", at("2027-03-01T12:00:00Z")).max, "2028-03-01");
    assert.equal(time.allowedRange("Europe/Paris", at("2027-03-27T12:00:00Z"), 1).max, "2027-03-28");
    assert.equal(time.allowedRange("UTC", at("2026-11-25T12:00:00Z"), 30).max, "2026-12-25");
    assert.equal(time.allowedRange("UTC", at("2026-11-25T12:00:00Z"), 0).max, "2026-11-25");
  });

  it("inRange accepts today and the last day, refuses the days around them and non-dates", () => {
    const range = { min: "2026-11-25", max: "2027-11-26" };
    assert.ok(time.inRange("2026-11-25", range));
    assert.ok(time.inRange("2027-11-26", range));
    assert.ok(!time.inRange("2026-11-24", range));
    assert.ok(!time.inRange("2027-11-27", range));
    assert.ok(!time.inRange("2027-02-30", range));
    assert.ok(!time.inRange("", range));
  });
});

describe("quick picks", () => {
  it("offers 7, 30, 90 days and 1 year from today in the zone", () => {
    const picks = time.quickPicks("Asia/Kathmandu", at("2026-11-25T20:00:00Z"));
    assert.deepEqual(picks, [
      { label: "7 days", date: "2026-12-03" },
      { label: "30 days", date: "2026-12-26" },
      { label: "90 days", date: "2027-02-24" },
      { label: "1 year", date: "2027-11-26" },
    ]);
  });

  it("1 year from 29 February is 28 February", () => {
    const picks = time.quickPicks("UTC", at("2028-02-29T12:00:00Z"));
    assert.equal(picks.at(-1)?.date, "2029-02-28");
  });

  it("leaves out picks beyond the maximum lifetime", () => {
    const picks = time.quickPicks("UTC", at("2026-11-25T12:00:00Z"), 30);
    assert.deepEqual(
      picks.map((p) => p.label),
      ["7 days", "30 days"],
    );
  });

  it("defaults to 30 days, or the latest allowed day if sooner", () => {
    assert.equal(time.defaultExpiry("UTC", at("2026-11-25T12:00:00Z")), "2026-12-25");
    assert.equal(time.defaultExpiry("UTC", at("2026-11-25T12:00:00Z"), 10), "2026-12-05");
  });
});

describe("relative times", () => {
  const now = at("2026-11-25T10:00:00Z");
  const cases: Array<[number, string]> = [
    [35.5 * DAY, "in 35 days"],
    [DAY, "in 1 day"],
    [DAY - 1, "in 23 hours"],
    [90 * 60_000, "in 1 hour"],
    [59 * 60_000, "in 59 minutes"],
    [30_000, "in less than a minute"],
    [-30_000, "just now"],
    [-3 * 3_600_000, "3 hours ago"],
    [-2 * DAY, "2 days ago"],
    [400 * DAY, "in 400 days"],
  ];
  for (const [offset, expected] of cases) {
    it(`${offset} ms → ${expected}`, () => assert.equal(time.relativeTime(now + offset, now), expected));
  }
});

describe("past events", () => {
  it("are never in the future, whatever the clock skew", () => {
    const now = at("2026-11-25T10:00:00Z");
    assert.equal(time.relativePast(now + 20_000, now), "just now");
    assert.equal(time.relativePast(now - 5 * 60_000, now), "5 minutes ago");
  });
});

describe("expiring soon", () => {
  const now = at("2026-11-25T10:00:00Z");
  it("marks tokens expiring within 7 days", () => {
    assert.ok(time.isExpiringSoon(now + 7 * DAY, now));
    assert.ok(time.isExpiringSoon(now + 3_600_000, now));
    assert.ok(!time.isExpiringSoon(now + 7 * DAY + 1, now));
    assert.ok(!time.isExpiringSoon(now + 30 * DAY, now));
  });
  it("a token picked for today + 6 days is marked, one for today + 7 days is not", () => {
    const zone = "Europe/Paris";
    const today = time.todayIn(zone, now);
    assert.ok(time.isExpiringSoon(time.endOfDay(time.addDays(today, 6), zone), now));
    assert.ok(!time.isExpiringSoon(time.endOfDay(time.addDays(today, 7), zone), now));
  });
});

describe("dates and zones", () => {
  it("parses real dates only", () => {
    assert.deepEqual(time.parseDate("2028-02-29"), { year: 2028, month: 2, day: 29 });
    assert.equal(time.parseDate("2027-02-29"), null);
    assert.equal(time.parseDate("2027-1-01"), null);
    assert.equal(time.parseDate("tomorrow"), null);
  });
  it("adds days and years", () => {
    assert.equal(time.addDays("2026-12-31", 1), "2027-01-01");
    assert.equal(time.addDays("2028-02-28", 1), "2028-02-29");
    assert.equal(time.addYears("2028-02-29", 1), "2029-02-28");
    assert.equal(time.daysBetween("2026-11-25", "2027-11-26"), 366);
  });
  it("knows IANA zones, lists them with UTC and the person's zone", () => {
    assert.ok(time.isKnownZone("Asia/Kathmandu"));
    assert.ok(!time.isKnownZone("Mars/Olympus_Mons"));
    assert.ok(!time.isKnownZone(""));
    const zones = time.zoneList("Europe/Paris");
    assert.ok(zones.includes("UTC"));
    assert.ok(zones.includes("Europe/Paris"));
    assert.ok(zones.length > 300);
    assert.deepEqual(zones, [...zones].sort());
  });
  it("uses current IANA names where runtimes report old ones", () => {
    const zones = time.zoneList();
    assert.ok(zones.includes("Asia/Kathmandu"));
    assert.ok(zones.includes("Asia/Kolkata"));
    assert.ok(zones.includes("Europe/Kyiv"));
    assert.ok(!zones.includes("Asia/Katmandu"));
    assert.ok(!zones.includes("Asia/Calcutta"));
    assert.equal(time.currentName("Asia/Calcutta"), "Asia/Kolkata");
    assert.equal(time.currentName("Europe/Paris"), "Europe/Paris");
  });
  it("offsets: :30 and :45 zones", () => {
    assert.equal(time.offsetAt(at("2026-06-01T00:00:00Z"), "Asia/Kathmandu"), (5 * 60 + 45) * 60_000);
    assert.equal(time.offsetAt(at("2026-06-01T00:00:00Z"), "America/St_Johns"), -(2 * 60 + 30) * 60_000);
  });
});
