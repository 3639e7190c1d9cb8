//! Working-time arithmetic on a [`Calendar`], in Europe/Rome.
//!
//! **Working hours.** "N working hours" counts every hour of a working day, 24 per day, and no
//! hour of a closed day: 48 working hours from Friday 10:00 end on Tuesday 10:00. We chose whole
//! days over office hours because the catalog's turnarounds are the providers' own promises,
//! "24–48 ore lavorative", which CAF and Patronati give as "one or two working days"; counted in
//! 8-hour office days, 48 hours would be six days, which nobody means. Providers' office hours are
//! not configured anywhere, so there would be nothing to count them against either.
//!
//! **Working days.** "N working days" ends at the end (24:00, that is the next midnight) of the
//! Nth working day after the start day; the start day never counts, however early the start.
//!
//! Daylight-saving changes happen on Sundays, which are never working, but the arithmetic does
//! not rely on it: every day's bounds come from the time zone, so a day is as long as it is.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;

use super::Calendar;
use crate::catalog::Turnaround;

/// The offices' time zone.
pub const ROME: Tz = chrono_tz::Europe::Rome;

/// A run of closed days this long means the configuration closes everything: refuse rather than
/// loop or invent a date.
const MAX_CLOSED_RUN: u32 = 3 * 366;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error(
        "no working day in the {MAX_CLOSED_RUN} days after {0}: the calendar closes everything"
    )]
    NoWorkingDay(NaiveDate),
    #[error("the time {0} is outside the supported range")]
    OutOfRange(i64),
}

/// The calendar day in Rome of the instant `t` (Unix seconds).
pub fn local_date(t: i64) -> Result<NaiveDate, CalendarError> {
    DateTime::from_timestamp(t, 0)
        .map(|utc| utc.with_timezone(&ROME).date_naive())
        .ok_or(CalendarError::OutOfRange(t))
}

/// The instant (Unix seconds) at which `date` begins in Rome.
pub fn start_of_day(date: NaiveDate) -> Result<i64, CalendarError> {
    // Rome's changes happen at 02:00 and 03:00, so midnight always exists exactly once.
    ROME.from_local_datetime(&date.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.timestamp())
        .ok_or(CalendarError::OutOfRange(0))
}

fn next_day(date: NaiveDate) -> Result<NaiveDate, CalendarError> {
    date.succ_opt().ok_or(CalendarError::OutOfRange(i64::MAX))
}

impl Calendar {
    /// When work started at `start` with `turnaround` is due.
    pub fn due(&self, start: i64, turnaround: Turnaround) -> Result<i64, CalendarError> {
        match turnaround {
            Turnaround::WorkingHours(h) => self.add_working_seconds(start, i64::from(h) * 3600),
            Turnaround::WorkingDays(n) => {
                let mut day = local_date(start)?;
                let mut counted = 0;
                let mut closed_run = 0;
                while counted < n {
                    day = next_day(day)?;
                    if self.is_working(day) {
                        counted += 1;
                        closed_run = 0;
                    } else {
                        closed_run += 1;
                        if closed_run > MAX_CLOSED_RUN {
                            return Err(CalendarError::NoWorkingDay(day));
                        }
                    }
                }
                start_of_day(next_day(day)?)
            }
        }
    }

    /// The instant at which `seconds` of working time have passed since `start`. Time on closed
    /// days does not count; zero or less returns `start` itself.
    pub fn add_working_seconds(&self, start: i64, seconds: i64) -> Result<i64, CalendarError> {
        if seconds <= 0 {
            return Ok(start);
        }
        let mut t = start;
        let mut left = seconds;
        let mut day = local_date(start)?;
        let mut closed_run = 0;
        loop {
            let next = next_day(day)?;
            let end = start_of_day(next)?;
            if self.is_working(day) {
                closed_run = 0;
                let available = end - t;
                if left <= available {
                    return Ok(t + left);
                }
                left -= available;
            } else {
                closed_run += 1;
                if closed_run > MAX_CLOSED_RUN {
                    return Err(CalendarError::NoWorkingDay(day));
                }
            }
            t = end;
            day = next;
        }
    }

    /// The working time, in seconds, between `from` and `to` (zero when `to` is not later): what
    /// the SLA clock adds to a due time after it stopped while waiting for the client.
    pub fn working_seconds_between(&self, from: i64, to: i64) -> Result<i64, CalendarError> {
        let mut total = 0;
        let mut t = from;
        let mut day = local_date(from)?;
        while t < to {
            let next = next_day(day)?;
            let end = start_of_day(next)?;
            if self.is_working(day) {
                total += end.min(to) - t;
            }
            t = end;
            day = next;
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Closure;

    /// Unix seconds of a wall-clock time in Rome.
    fn rome(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        ROME.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("unambiguous test time")
            .timestamp()
    }

    const H: i64 = 3600;

    #[test]
    fn hours_within_the_week() {
        let cal = Calendar::national();
        // Monday 23 November 2026, 10:00.
        let start = rome(2026, 11, 23, 10, 0);
        let due = cal.due(start, Turnaround::WorkingHours(48));
        assert_eq!(due, Ok(rome(2026, 11, 25, 10, 0)));
        assert_eq!(
            cal.due(start, Turnaround::WorkingHours(24)),
            Ok(rome(2026, 11, 24, 10, 0))
        );
    }

    #[test]
    fn hours_skip_the_weekend() {
        let cal = Calendar::national();
        // Friday 27 November 2026, 10:00: 14 h on Friday, 24 on Monday, 10 on Tuesday.
        let due = cal.due(rome(2026, 11, 27, 10, 0), Turnaround::WorkingHours(48));
        assert_eq!(due, Ok(rome(2026, 12, 1, 10, 0)));
    }

    #[test]
    fn hours_started_on_a_closed_day_start_counting_at_the_next_working_midnight() {
        let cal = Calendar::national();
        // Saturday 28 November 2026 → Monday 00:00 + 24 h = Tuesday 00:00.
        let due = cal.due(rome(2026, 11, 28, 15, 0), Turnaround::WorkingHours(24));
        assert_eq!(due, Ok(rome(2026, 12, 1, 0, 0)));
    }

    #[test]
    fn hours_across_the_spring_dst_change() {
        let cal = Calendar::national();
        // Friday 27 March 2026 10:00 CET; clocks go forward on Sunday 29 March.
        let start = rome(2026, 3, 27, 10, 0);
        let due = cal
            .due(start, Turnaround::WorkingHours(48))
            .expect("a due time");
        assert_eq!(due, rome(2026, 3, 31, 10, 0));
        // The wall clock says 4 days later, but an hour was skipped.
        assert_eq!(due - start, 4 * 24 * H - H);
    }

    #[test]
    fn hours_across_the_autumn_dst_change() {
        let cal = Calendar::national();
        // Friday 23 October 2026 10:00 CEST; clocks go back on Sunday 25 October.
        let start = rome(2026, 10, 23, 10, 0);
        let due = cal
            .due(start, Turnaround::WorkingHours(48))
            .expect("a due time");
        assert_eq!(due, rome(2026, 10, 27, 10, 0));
        assert_eq!(due - start, 4 * 24 * H + H);
    }

    #[test]
    fn days_end_at_midnight_after_the_nth_working_day() {
        let cal = Calendar::national();
        // Monday 10:00 + 2 working days: Tuesday and Wednesday; due Thursday 00:00.
        let due = cal.due(rome(2026, 11, 23, 10, 0), Turnaround::WorkingDays(2));
        assert_eq!(due, Ok(rome(2026, 11, 26, 0, 0)));
        // The start day never counts, even at one minute past midnight.
        let due = cal.due(rome(2026, 11, 23, 0, 1), Turnaround::WorkingDays(1));
        assert_eq!(due, Ok(rome(2026, 11, 25, 0, 0)));
    }

    #[test]
    fn days_skip_holidays_and_closures() {
        // Wednesday 23 December 2026, 5 working days: not 24 (closure), 25, 26 (holidays),
        // 27 (Sunday), 31 (closure), 1 January (holiday), 2–3 (weekend), 6 (Epifania).
        let cal = Calendar::with_closures(vec![
            Closure::yearly("12-24", "Vigilia di Natale").expect("valid"),
            Closure::yearly("12-31", "San Silvestro").expect("valid"),
        ]);
        // Working: 28, 29, 30 December, 4 and 5 January; due at the end of 5 January.
        let due = cal.due(rome(2026, 12, 23, 9, 0), Turnaround::WorkingDays(5));
        assert_eq!(due, Ok(rome(2027, 1, 6, 0, 0)));
    }

    #[test]
    fn working_seconds_between_skips_closed_days() {
        let cal = Calendar::national();
        let fri = rome(2026, 11, 27, 18, 0);
        let mon = rome(2026, 11, 30, 9, 0);
        assert_eq!(cal.working_seconds_between(fri, mon), Ok(6 * H + 9 * H));
        assert_eq!(cal.working_seconds_between(mon, fri), Ok(0));
        let sat = rome(2026, 11, 28, 9, 0);
        let sun = rome(2026, 11, 29, 20, 0);
        assert_eq!(cal.working_seconds_between(sat, sun), Ok(0));
    }

    #[test]
    fn adding_what_was_measured_gives_back_the_end() {
        let cal = Calendar::national();
        let a = rome(2026, 11, 27, 18, 0);
        let b = rome(2026, 12, 2, 11, 30);
        let secs = cal.working_seconds_between(a, b).expect("measured");
        assert_eq!(cal.add_working_seconds(a, secs), Ok(b));
    }

    #[test]
    fn a_calendar_that_closes_everything_is_an_error_not_a_hang() {
        let cal = Calendar::with_closures(vec![
            Closure::yearly("01-01..12-31", "Chiuso").expect("valid")
        ]);
        let start = rome(2026, 11, 23, 10, 0);
        assert!(matches!(
            cal.due(start, Turnaround::WorkingDays(1)),
            Err(CalendarError::NoWorkingDay(_))
        ));
        assert!(matches!(
            cal.due(start, Turnaround::WorkingHours(1)),
            Err(CalendarError::NoWorkingDay(_))
        ));
    }
}
