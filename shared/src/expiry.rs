//! When a token stops working: at the end of the chosen day in the user's time zone,
//! that is, the instant the next local day begins.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A validated expiration: the day and zone the user chose, and the instant they mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiry {
    pub expires_on: NaiveDate,
    pub time_zone: Tz,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpiryError {
    #[error("expiresOn {expires_on} is already past in {time_zone} (today there is {today})")]
    InPast {
        expires_on: NaiveDate,
        today: NaiveDate,
        time_zone: Tz,
    },
    #[error("expiresOn may be at most {max_days} days after today ({latest} in {time_zone})")]
    TooFar {
        max_days: u32,
        latest: NaiveDate,
        time_zone: Tz,
    },
}

/// Parses an IANA time zone name such as `Europe/Paris`.
pub fn parse_time_zone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// Parses a calendar date in exactly the `YYYY-MM-DD` form.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    // chrono alone also reads signs, spaces and short fields ("2027-01- 1").
    let shape = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()
}

/// The first instant of the day after `date` in `zone`.
///
/// Usually local midnight. Where midnight does not exist locally (a DST change at
/// 00:00, as in America/Sao_Paulo on 2018-11-04), the day starts when the clocks
/// jump, which is the first local minute after midnight that exists. Where midnight
/// happens twice, the earlier one counts. Returns `None` only past chrono's calendar.
pub fn end_of_day(date: NaiveDate, zone: Tz) -> Option<DateTime<Utc>> {
    first_instant_at_or_after(date.succ_opt()?.and_hms_opt(0, 0, 0)?, zone)
}

/// The first instant at which the clocks of `zone` read `local` or, when that time
/// is skipped by a DST change, the first local minute after it that exists. Of two
/// instants reading the same local time (clocks going back), the earlier.
pub fn first_instant_at_or_after(local: NaiveDateTime, zone: Tz) -> Option<DateTime<Utc>> {
    // Transitions fall on whole minutes, and no gap is longer than a day.
    (0..=24 * 60).find_map(|minute| {
        zone.from_local_datetime(&(local + Duration::minutes(minute)))
            .earliest()
            .map(|at| at.with_timezone(&Utc))
    })
}

/// Today's date in `zone` at `now`.
pub fn today_in(zone: Tz, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&zone).date_naive()
}

/// Checks the chosen date against today in the user's zone and computes the instant.
/// Today is allowed; the latest allowed day is `max_days` calendar days after today.
pub fn resolve(
    expires_on: NaiveDate,
    zone: Tz,
    now: DateTime<Utc>,
    max_days: u32,
) -> Result<Expiry, ExpiryError> {
    let today = today_in(zone, now);
    if expires_on < today {
        return Err(ExpiryError::InPast {
            expires_on,
            today,
            time_zone: zone,
        });
    }
    let latest = today
        .checked_add_days(chrono::Days::new(u64::from(max_days)))
        .unwrap_or(NaiveDate::MAX);
    let expires_at = match end_of_day(expires_on, zone) {
        Some(at) if expires_on <= latest => at,
        _ => {
            return Err(ExpiryError::TooFar {
                max_days,
                latest,
                time_zone: zone,
            })
        }
    };
    Ok(Expiry {
        expires_on,
        time_zone: zone,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn zone(name: &str) -> Tz {
        parse_time_zone(name).unwrap()
    }

    #[test]
    fn dates_need_exactly_four_two_two_digits() {
        for raw in [
            "2027-01-1",
            "2027-1-01",
            "2027-1-1",
            "27-01-01",
            "2027",
            "",
            "+2027-01-01",
            "2027/01/01",
            "2027-01-01T",
        ] {
            assert_eq!(parse_date(raw), None, "{raw:?}");
        }
        assert_eq!(
            parse_date("2027-01-01"),
            NaiveDate::from_ymd_opt(2027, 1, 1)
        );
        // Ten characters that chrono alone reads as a date; the shape check refuses them.
        for raw in ["2027-01- 1", "2027- 1-01", " 2027-1-01", "+2027-1-01"] {
            assert!(
                NaiveDate::parse_from_str(raw, "%Y-%m-%d").is_ok(),
                "{raw:?}"
            );
            assert_eq!(parse_date(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn a_skipped_day_ends_when_the_next_existing_day_begins() {
        // Samoa skipped 2011-12-30 entirely: the day after the 29th began at
        // 2011-12-31 00:00 +14:00, a whole day after local midnight would have been.
        let end = end_of_day(date("2011-12-29"), zone("Pacific/Apia")).unwrap();
        assert_eq!(end, utc("2011-12-30T10:00:00Z"));
        assert_eq!(
            end.with_timezone(&zone("Pacific/Apia")).to_rfc3339(),
            "2011-12-31T00:00:00+14:00"
        );
    }

    #[test]
    fn utc_day_ends_at_next_midnight() {
        assert_eq!(
            end_of_day(date("2026-11-25"), Tz::UTC),
            Some(utc("2026-11-26T00:00:00Z"))
        );
    }

    #[test]
    fn sao_paulo_day_before_midnight_gap_ends_when_clocks_jump() {
        // On 2018-11-04 Brazil's DST began at 00:00, so that day started at 01:00 -02:00.
        let end = end_of_day(date("2018-11-03"), zone("America/Sao_Paulo")).unwrap();
        assert_eq!(end, utc("2018-11-04T03:00:00Z"));
        assert_eq!(
            end.with_timezone(&zone("America/Sao_Paulo")).to_rfc3339(),
            "2018-11-04T01:00:00-02:00"
        );
        // The day itself was only 23 hours long.
        let start = end_of_day(date("2018-11-02"), zone("America/Sao_Paulo")).unwrap();
        assert_eq!(end - start, Duration::hours(24));
        let next = end_of_day(date("2018-11-04"), zone("America/Sao_Paulo")).unwrap();
        assert_eq!(next - end, Duration::hours(23));
    }

    #[test]
    fn sao_paulo_day_when_clocks_fall_back_at_midnight() {
        // On 2019-02-17 00:00 -02:00 clocks went back to 2019-02-16 23:00 -03:00: a 25-hour day.
        let end = end_of_day(date("2019-02-16"), zone("America/Sao_Paulo")).unwrap();
        assert_eq!(end, utc("2019-02-17T03:00:00Z"));
        let before = end_of_day(date("2019-02-15"), zone("America/Sao_Paulo")).unwrap();
        assert_eq!(end - before, Duration::hours(25));
    }

    #[test]
    fn kathmandu_quarter_hour_offset() {
        // Asia/Kathmandu is UTC+05:45.
        assert_eq!(
            end_of_day(date("2026-06-30"), zone("Asia/Kathmandu")),
            Some(utc("2026-06-30T18:15:00Z"))
        );
    }

    #[test]
    fn lord_howe_half_hour_dst() {
        // Lord Howe is +10:30 in winter and +11:00 in summer (a 30-minute DST shift).
        assert_eq!(
            end_of_day(date("2026-06-30"), zone("Australia/Lord_Howe")),
            Some(utc("2026-06-30T13:30:00Z"))
        );
        assert_eq!(
            end_of_day(date("2026-12-31"), zone("Australia/Lord_Howe")),
            Some(utc("2026-12-31T13:00:00Z"))
        );
        // DST starts 2026-10-04 02:00 -> 02:30: that day lasts 23h30.
        let before = end_of_day(date("2026-10-03"), zone("Australia/Lord_Howe")).unwrap();
        let after = end_of_day(date("2026-10-04"), zone("Australia/Lord_Howe")).unwrap();
        assert_eq!(after - before, Duration::minutes(23 * 60 + 30));
    }

    #[test]
    fn new_york_dst_day_lengths() {
        let ny = zone("America/New_York");
        let d = |s| end_of_day(date(s), ny).unwrap();
        assert_eq!(d("2026-03-08") - d("2026-03-07"), Duration::hours(23));
        assert_eq!(d("2026-11-01") - d("2026-10-31"), Duration::hours(25));
        assert_eq!(d("2026-11-01"), utc("2026-11-02T05:00:00Z"));
    }

    #[test]
    fn today_is_allowed_yesterday_is_not() {
        let now = utc("2026-11-25T10:00:00Z");
        let ok = resolve(date("2026-11-25"), Tz::UTC, now, 366).unwrap();
        assert_eq!(ok.expires_at, utc("2026-11-26T00:00:00Z"));
        assert!(matches!(
            resolve(date("2026-11-24"), Tz::UTC, now, 366),
            Err(ExpiryError::InPast { .. })
        ));
    }

    #[test]
    fn today_depends_on_the_users_zone() {
        // 23:30 UTC on the 25th is already the 26th in Kathmandu and still the 25th in Los Angeles.
        let now = utc("2026-11-25T23:30:00Z");
        assert!(matches!(
            resolve(date("2026-11-25"), zone("Asia/Kathmandu"), now, 366),
            Err(ExpiryError::InPast { .. })
        ));
        let la = resolve(date("2026-11-25"), zone("America/Los_Angeles"), now, 366).unwrap();
        assert_eq!(la.expires_at, utc("2026-11-26T08:00:00Z"));
    }

    #[test]
    fn lifetime_limit_counts_calendar_days_in_the_users_zone() {
        let now = utc("2026-11-25T10:00:00Z");
        // 2027-11-26 is one year and one day ahead: 366 days, the default maximum.
        assert!(resolve(date("2027-11-26"), Tz::UTC, now, 366).is_ok());
        assert!(matches!(
            resolve(date("2027-11-27"), Tz::UTC, now, 366),
            Err(ExpiryError::TooFar { .. })
        ));
        // Across a 29 February, one year and one day is 367 days: past the default maximum.
        let leap_now = utc("2027-11-25T10:00:00Z");
        assert!(matches!(
            resolve(date("2028-11-26"), Tz::UTC, leap_now, 366),
            Err(ExpiryError::TooFar { .. })
        ));
        assert!(resolve(date("2028-11-25"), Tz::UTC, leap_now, 366).is_ok());
        assert!(matches!(
            resolve(date("2026-11-26"), Tz::UTC, now, 0),
            Err(ExpiryError::TooFar { .. })
        ));
    }

    #[test]
    fn far_future_dates_do_not_panic() {
        let now = utc("2026-11-25T10:00:00Z");
        assert!(resolve(NaiveDate::MAX, Tz::UTC, now, u32::MAX).is_err());
        assert_eq!(end_of_day(NaiveDate::MAX, Tz::UTC), None);
    }

    #[test]
    fn date_and_zone_parsing_is_strict() {
        assert_eq!(
            parse_date("2026-02-28"),
            NaiveDate::from_ymd_opt(2026, 2, 28)
        );
        for bad in [
            "2026-2-28",
            "2026-02-30",
            "28/02/2026",
            "2026-02-28T00:00",
            "",
            "+2026-02-28",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert!(parse_time_zone("Europe/Paris").is_some());
        assert!(parse_time_zone("Mars/Olympus_Mons").is_none());
    }
}
