//! A provider's own closures: a yearly day or span (its comune's patron saint, 24 and 31
//! December, a fixed August break) or a span of calendar dates (this year's summer closure).

use chrono::{Datelike, NaiveDate};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub when: ClosureWhen,
    /// Shown for every day it closes, e.g. "Santi Pietro e Paolo (patroni di Roma)".
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosureWhen {
    /// Every year, from one (month, day) to another, both included; may wrap over New Year.
    Yearly { from: (u32, u32), to: (u32, u32) },
    /// From one date to another, both included.
    Dates { from: NaiveDate, to: NaiveDate },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClosureError {
    #[error("`{0}` is not a day of the year as MM-DD (e.g. 06-29) or a span MM-DD..MM-DD")]
    Yearly(String),
    #[error("`{0}` is not a date as YYYY-MM-DD or a span YYYY-MM-DD..YYYY-MM-DD")]
    Dates(String),
    #[error("the span `{0}` ends before it starts")]
    Backwards(String),
    #[error("a closure needs a non-empty reason")]
    NoReason,
    #[error("a closure needs exactly one of `yearly` or `dates`")]
    Ambiguous,
}

impl Closure {
    /// `"06-29"` or `"08-10..08-21"`; a span may cross New Year (`"12-24..01-06"`).
    pub fn yearly(spec: &str, reason: &str) -> Result<Closure, ClosureError> {
        let bad = || ClosureError::Yearly(spec.to_string());
        let (from, to) = split_span(spec);
        let from = month_day(from).ok_or_else(bad)?;
        let to = month_day(to).ok_or_else(bad)?;
        Closure::new(ClosureWhen::Yearly { from, to }, reason)
    }

    /// `"2026-04-24"` or `"2026-08-10..2026-08-21"`.
    pub fn dates(spec: &str, reason: &str) -> Result<Closure, ClosureError> {
        let bad = || ClosureError::Dates(spec.to_string());
        let (from, to) = split_span(spec);
        let from = NaiveDate::parse_from_str(from.trim(), "%Y-%m-%d").map_err(|_| bad())?;
        let to = NaiveDate::parse_from_str(to.trim(), "%Y-%m-%d").map_err(|_| bad())?;
        if to < from {
            return Err(ClosureError::Backwards(spec.to_string()));
        }
        Closure::new(ClosureWhen::Dates { from, to }, reason)
    }

    fn new(when: ClosureWhen, reason: &str) -> Result<Closure, ClosureError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ClosureError::NoReason);
        }
        Ok(Closure {
            when,
            reason: reason.to_string(),
        })
    }

    pub fn covers(&self, date: NaiveDate) -> bool {
        match self.when {
            ClosureWhen::Dates { from, to } => from <= date && date <= to,
            ClosureWhen::Yearly { from, to } => {
                let md = (date.month(), date.day());
                if from <= to {
                    from <= md && md <= to
                } else {
                    md >= from || md <= to
                }
            }
        }
    }
}

fn split_span(spec: &str) -> (&str, &str) {
    spec.split_once("..").unwrap_or((spec, spec))
}

/// A month and day that exist in some year (29 February included: it closes only leap years).
fn month_day(s: &str) -> Option<(u32, u32)> {
    let (m, d) = s.trim().split_once('-')?;
    if m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (m, d): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
    NaiveDate::from_ymd_opt(2024, m, d).map(|_| (m, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn yearly_day_and_span() {
        let patron = Closure::yearly("06-29", "Santi Pietro e Paolo").expect("valid");
        assert!(patron.covers(date(2027, 6, 29)));
        assert!(!patron.covers(date(2027, 6, 30)));
        let august = Closure::yearly("08-10..08-21", "Chiusura estiva").expect("valid");
        assert!(august.covers(date(2030, 8, 10)) && august.covers(date(2030, 8, 21)));
        assert!(!august.covers(date(2030, 8, 22)));
    }

    #[test]
    fn yearly_span_across_new_year() {
        let c = Closure::yearly("12-31..01-02", "Feste").expect("valid");
        assert!(c.covers(date(2026, 12, 31)) && c.covers(date(2027, 1, 2)));
        assert!(!c.covers(date(2027, 1, 3)) && !c.covers(date(2026, 12, 30)));
    }

    #[test]
    fn dates_span() {
        let c = Closure::dates("2026-08-10..2026-08-21", "Chiusura estiva").expect("valid");
        assert!(c.covers(date(2026, 8, 15)));
        assert!(!c.covers(date(2027, 8, 15)));
    }

    #[test]
    fn bad_specs_are_refused_with_the_reason() {
        assert_eq!(
            Closure::yearly("6-29", "x"),
            Err(ClosureError::Yearly("6-29".into()))
        );
        assert!(Closure::yearly("02-30", "x").is_err());
        assert!(Closure::yearly("02-29", "x").is_ok());
        assert!(Closure::dates("2026-02-29", "x").is_err());
        assert_eq!(
            Closure::dates("2026-08-21..2026-08-10", "x"),
            Err(ClosureError::Backwards("2026-08-21..2026-08-10".into()))
        );
        assert_eq!(Closure::yearly("06-29", "  "), Err(ClosureError::NoReason));
    }
}
