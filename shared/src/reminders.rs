//! When people hear that a token is about to stop working: at 09:00 in the token's
//! own time zone, a configurable number of days before its last day, and on the last
//! day itself.
//!
//! Each reminder is stored in the partition of the UTC hour it falls due in
//! ([`hour_key`]), so the reminder job reads only the hours it has not done yet.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;

use crate::expiry::first_instant_at_or_after;

/// Local time of day at which reminders go out.
pub const LOCAL_SEND_TIME: NaiveTime = match NaiveTime::from_hms_opt(9, 0, 0) {
    Some(time) => time,
    None => panic!("09:00 is a valid time"),
};

/// One reminder of a token: `days_left` days before its last day (0 on the last day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueReminder {
    pub days_left: u32,
    pub due_at: DateTime<Utc>,
}

/// The reminders of a token whose last day is `expires_on` in `zone`: one per lead
/// time in `lead_days` and one on the last day, each at 09:00 local time (or the first
/// minute after it that exists, on a day whose clocks jump over 09:00). Those already
/// due at `now` are left out, so a token created on its last day after 09:00 gets none.
/// Earliest first, without duplicates.
pub fn schedule(
    expires_on: NaiveDate,
    zone: Tz,
    lead_days: &[u32],
    now: DateTime<Utc>,
) -> Vec<DueReminder> {
    let mut days: Vec<u32> = lead_days.iter().copied().chain([0]).collect();
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    days.into_iter()
        .filter_map(|days_left| {
            let day = expires_on.checked_sub_days(Days::new(u64::from(days_left)))?;
            let due_at = first_instant_at_or_after(day.and_time(LOCAL_SEND_TIME), zone)?;
            (due_at > now).then_some(DueReminder { days_left, due_at })
        })
        .collect()
}

/// The UTC hour an instant falls in, as reminder partitions name it: `2027-01-08T08`.
pub fn hour_key(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H").to_string()
}

/// The start of the UTC hour `at` falls in.
pub fn hour_start(at: DateTime<Utc>) -> DateTime<Utc> {
    at.with_nanosecond(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_minute(0))
        .unwrap_or(at)
}

/// Most lead times a deployment may configure (each is an item written with a token).
pub const MAX_LEAD_TIMES: usize = 5;

/// Parses a lead-time list such as `7,1` (days before the last day, each 1 to 365, at
/// most [`MAX_LEAD_TIMES`] of them).
pub fn parse_lead_days(raw: &str) -> Result<Vec<u32>, String> {
    let mut days = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let value: u32 = part
            .parse()
            .map_err(|_| format!("`{part}` is not a whole number of days"))?;
        if !(1..=365).contains(&value) {
            return Err(format!("{value} is outside 1..=365"));
        }
        days.push(value);
    }
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    if days.len() > MAX_LEAD_TIMES {
        return Err(format!("at most {MAX_LEAD_TIMES} lead times"));
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expiry::{end_of_day, parse_date, parse_time_zone};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn date(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn zone(name: &str) -> Tz {
        parse_time_zone(name).unwrap()
    }

    #[test]
    fn reminders_go_out_at_nine_local_on_each_lead_day_and_the_last_day() {
        let now = utc("2026-11-26T12:00:00Z");
        let due = schedule(date("2027-01-15"), zone("Europe/Paris"), &[7, 1], now);
        assert_eq!(
            due,
            vec![
                DueReminder {
                    days_left: 7,
                    due_at: utc("2027-01-08T08:00:00Z")
                },
                DueReminder {
                    days_left: 1,
                    due_at: utc("2027-01-14T08:00:00Z")
                },
                DueReminder {
                    days_left: 0,
                    due_at: utc("2027-01-15T08:00:00Z")
                },
            ]
        );
        assert_eq!(hour_key(due[0].due_at), "2027-01-08T08");
    }

    #[test]
    fn summer_time_moves_the_utc_hour() {
        let now = utc("2026-01-01T00:00:00Z");
        // 09:00 in New York is 14:00 UTC in winter and 13:00 UTC in summer.
        let winter = schedule(date("2026-03-07"), zone("America/New_York"), &[], now);
        let summer = schedule(date("2026-03-09"), zone("America/New_York"), &[], now);
        assert_eq!(winter[0].due_at, utc("2026-03-07T14:00:00Z"));
        assert_eq!(summer[0].due_at, utc("2026-03-09T13:00:00Z"));
        // The lead day before the change is still on winter time.
        let across = schedule(date("2026-03-09"), zone("America/New_York"), &[1], now);
        assert_eq!(across[0].due_at, utc("2026-03-08T13:00:00Z"));
        let across = schedule(date("2026-03-08"), zone("America/New_York"), &[1], now);
        assert_eq!(across[0].due_at, utc("2026-03-07T14:00:00Z"));
    }

    #[test]
    fn quarter_and_half_hour_zones_fall_inside_the_hour() {
        let now = utc("2026-01-01T00:00:00Z");
        let kathmandu = schedule(date("2026-06-30"), zone("Asia/Kathmandu"), &[], now);
        assert_eq!(kathmandu[0].due_at, utc("2026-06-30T03:15:00Z"));
        assert_eq!(hour_key(kathmandu[0].due_at), "2026-06-30T03");
        let kolkata = schedule(date("2026-06-30"), zone("Asia/Kolkata"), &[], now);
        assert_eq!(kolkata[0].due_at, utc("2026-06-30T03:30:00Z"));
    }

    #[test]
    fn reminders_already_due_are_skipped() {
        let expires_on = date("2026-12-01");
        let paris = zone("Europe/Paris");
        // Created on the last day after 09:00: nothing left to remind.
        assert!(schedule(expires_on, paris, &[7, 1], utc("2026-12-01T08:00:01Z")).is_empty());
        // At 08:00 UTC exactly the last-day reminder is due now: skipped too.
        assert!(schedule(expires_on, paris, &[7, 1], utc("2026-12-01T08:00:00Z")).is_empty());
        // Three days ahead: the 7-day reminder is gone, the 1-day and last-day ones stay.
        let due = schedule(expires_on, paris, &[7, 1], utc("2026-11-28T08:00:00Z"));
        assert_eq!(
            due.iter().map(|d| d.days_left).collect::<Vec<_>>(),
            vec![1, 0]
        );
    }

    #[test]
    fn every_reminder_is_before_the_expiry() {
        let now = utc("2026-01-01T00:00:00Z");
        for name in [
            "Pacific/Kiritimati",
            "Pacific/Pago_Pago",
            "Asia/Kathmandu",
            "UTC",
        ] {
            let expires_on = date("2026-07-01");
            let end = end_of_day(expires_on, zone(name)).unwrap();
            for due in schedule(expires_on, zone(name), &[30, 7, 1], now) {
                assert!(due.due_at < end, "{name}");
                assert!(end - due.due_at <= chrono::Duration::days(i64::from(due.days_left) + 1));
            }
        }
    }

    #[test]
    fn lead_days_parse_sorted_and_deduplicated() {
        assert_eq!(parse_lead_days("7,1").unwrap(), vec![7, 1]);
        assert_eq!(parse_lead_days(" 1, 7 ,7,30").unwrap(), vec![30, 7, 1]);
        assert_eq!(parse_lead_days("").unwrap(), Vec::<u32>::new());
        assert!(parse_lead_days("0").is_err());
        assert!(parse_lead_days("366").is_err());
        assert!(parse_lead_days("a").is_err());
        assert!(parse_lead_days("1,2,3,4,5,6").is_err());
        // The same lead time twice still means one reminder.
        let now = utc("2026-01-01T00:00:00Z");
        assert_eq!(
            schedule(date("2026-06-30"), Tz::UTC, &[1, 1, 0], now).len(),
            2
        );
    }

    #[test]
    fn hour_start_truncates_to_the_utc_hour() {
        assert_eq!(
            hour_start(utc("2026-06-30T03:59:59.999Z")),
            utc("2026-06-30T03:00:00Z")
        );
    }
}
