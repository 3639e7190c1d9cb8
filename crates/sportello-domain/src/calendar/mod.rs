//! The Italian working calendar and working-time arithmetic for SLA due dates.
//!
//! A day is working when it is Monday to Friday, not a national holiday ([`national`]) and not
//! one of the provider's own closures ([`Closure`]). Times are Unix seconds; days are the
//! calendar days of Europe/Rome, so every rule follows the offices' wall clock across the
//! daylight-saving changes.
//!
//! Invariant: pure. The caller passes every instant; nothing here reads a clock.

mod closure;
mod easter;
mod national;
mod working_time;

pub use closure::{Closure, ClosureError, ClosureWhen};
pub use easter::easter_sunday;
pub use national::{holiday, SAN_FRANCESCO_FROM};
pub use working_time::{local_date, start_of_day, CalendarError, ROME};

use chrono::{Datelike, NaiveDate, Weekday};
use std::collections::BTreeMap;

/// One day of a calendar: working or not, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub date: NaiveDate,
    pub working: bool,
    /// `None` on a working day; otherwise the holiday's name, the provider's closure reason, or
    /// `sabato`/`domenica`, in that order of precedence.
    pub reason: Option<String>,
}

/// The national calendar plus one provider's closures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    closures: Vec<Closure>,
}

impl Calendar {
    /// Weekends and national holidays only.
    pub fn national() -> Calendar {
        Calendar::default()
    }

    pub fn with_closures(closures: Vec<Closure>) -> Calendar {
        Calendar { closures }
    }

    pub fn closures(&self) -> &[Closure] {
        &self.closures
    }

    pub fn day(&self, date: NaiveDate) -> Day {
        let reason = holiday(date)
            .or_else(|| {
                self.closures
                    .iter()
                    .find(|c| c.covers(date))
                    .map(|c| c.reason.clone())
            })
            .or_else(|| match date.weekday() {
                Weekday::Sat => Some("sabato".to_string()),
                Weekday::Sun => Some("domenica".to_string()),
                _ => None,
            });
        Day {
            date,
            working: reason.is_none(),
            reason,
        }
    }

    pub fn is_working(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
            && holiday(date).is_none()
            && !self.closures.iter().any(|c| c.covers(date))
    }

    /// Every day of `year`, 1 January to 31 December.
    pub fn year(&self, year: i32) -> impl Iterator<Item = Day> + '_ {
        NaiveDate::from_ymd_opt(year, 1, 1)
            .into_iter()
            .flat_map(|first| first.iter_days())
            .take_while(move |d| d.year() == year)
            .map(|d| self.day(d))
    }
}

/// Every provider's calendar, by provider name; a provider without closures configured works
/// on the national calendar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendars {
    national: Calendar,
    by_provider: BTreeMap<String, Calendar>,
}

impl Calendars {
    pub fn new(by_provider: BTreeMap<String, Calendar>) -> Calendars {
        Calendars {
            national: Calendar::national(),
            by_provider,
        }
    }

    pub fn for_provider(&self, name: &str) -> &Calendar {
        self.by_provider.get(name).unwrap_or(&self.national)
    }

    pub fn national(&self) -> &Calendar {
        &self.national
    }

    /// Whether some provider has closures of its own (else every provider works on the
    /// national calendar).
    pub fn any_closures(&self) -> bool {
        !self.by_provider.is_empty()
    }

    /// The provider names that have closures configured.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_provider.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn reasons_in_order_of_precedence() {
        let cal = Calendar::with_closures(vec![
            Closure::yearly("12-24", "Vigilia di Natale").expect("valid"),
            Closure::yearly("12-25..12-31", "Chiusura natalizia").expect("valid"),
        ]);
        // A holiday on a Saturday is named as the holiday.
        assert_eq!(
            cal.day(date(2027, 12, 25)).reason.as_deref(),
            Some("Natale")
        );
        // A closure on a weekday.
        let eve = cal.day(date(2026, 12, 24));
        assert!(!eve.working);
        assert_eq!(eve.reason.as_deref(), Some("Vigilia di Natale"));
        // A closure on a Sunday is named as the closure.
        assert_eq!(
            cal.day(date(2026, 12, 27)).reason.as_deref(),
            Some("Chiusura natalizia")
        );
        assert_eq!(
            Calendar::national()
                .day(date(2026, 12, 27))
                .reason
                .as_deref(),
            Some("domenica")
        );
        let monday = cal.day(date(2026, 11, 23));
        assert!(monday.working && monday.reason.is_none());
    }

    #[test]
    fn a_year_has_every_day_once() {
        assert_eq!(Calendar::national().year(2024).count(), 366);
        assert_eq!(Calendar::national().year(2026).count(), 365);
    }

    #[test]
    fn is_working_agrees_with_day() {
        let cal = Calendar::with_closures(vec![
            Closure::yearly("06-29", "Santi Pietro e Paolo").expect("valid"),
            Closure::dates("2026-08-10..2026-08-21", "Chiusura estiva").expect("valid"),
        ]);
        for d in cal.year(2026) {
            assert_eq!(cal.is_working(d.date), d.working, "{}", d.date);
        }
    }
}
