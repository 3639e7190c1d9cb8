//! `data_iso8601`: a calendar date.
//!
//! Despite the name, the official PHP SDK checks and sends `DD-MM-YYYY`
//! (`DateTime::createFromFormat("d-m-Y")` must round-trip), so both that and ISO `YYYY-MM-DD`
//! are accepted; the value is normalised to ISO. Only these two exact shapes: two-digit days
//! and months, four-digit years, `-` separators. Anything looser (`5-3-2020`, `2020/03/05`)
//! is ambiguous between the two orders or a sign of a client bug, so it is refused.

use super::FieldError;
use chrono::{Datelike, NaiveDate};

/// The oldest year accepted. Nobody alive, nor any document a Patronato or CAF handles, is
/// older; anything earlier is a typo (`1085` for `1985`). 1870 leaves room for historical
/// documents of deceased ancestors in successions.
pub const MIN_YEAR: i32 = 1870;

/// Parses either form; when `birth` is true (the field is a "data di nascita") the date may not
/// be after `today`.
pub fn validate(raw: &str, birth: bool, today: NaiveDate) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new("required", "the value is empty"));
    }
    let (y, m, d) = split(value).ok_or_else(|| {
        FieldError::new(
            "date_invalid",
            "a date is written YYYY-MM-DD (or DD-MM-YYYY), with two-digit day and month",
        )
    })?;
    let date = NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| {
        FieldError::new("date_invalid", "the date does not exist in the calendar")
    })?;
    if date.year() < MIN_YEAR {
        return Err(FieldError::new(
            "date_out_of_range",
            format!("the date is before {MIN_YEAR}"),
        ));
    }
    if birth && date > today {
        return Err(FieldError::new(
            "date_in_future",
            "a birth date cannot be in the future",
        ));
    }
    Ok(date.format("%Y-%m-%d").to_string())
}

/// `YYYY-MM-DD` or `DD-MM-YYYY` into (year, month, day), digits only.
fn split(s: &str) -> Option<(i32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        part.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    if b[4] == b'-' && b[7] == b'-' {
        Some((i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?))
    } else if b[2] == b'-' && b[5] == b'-' {
        Some((i32::try_from(num(6..10)?).ok()?, num(3..5)?, num(0..2)?))
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()
    }

    fn code(raw: &str, birth: bool) -> &'static str {
        validate(raw, birth, today()).unwrap_err().code
    }

    #[test]
    fn both_forms_are_normalised_to_iso() {
        assert_eq!(
            validate("1985-12-10", false, today()).unwrap(),
            "1985-12-10"
        );
        assert_eq!(
            validate(" 10-12-1985 ", false, today()).unwrap(),
            "1985-12-10"
        );
    }

    #[test]
    fn dates_that_do_not_exist_are_refused() {
        for bad in [
            "2023-02-29",
            "29-02-2023",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "00-01-2024",
        ] {
            assert_eq!(code(bad, false), "date_invalid", "{bad}");
        }
        assert!(validate("29-02-2024", false, today()).is_ok());
    }

    #[test]
    fn loose_shapes_are_refused() {
        for bad in [
            "2024-1-05",
            "5-1-2024",
            "2024/01/05",
            "05/01/2024",
            "20240105",
            "2024-01-05T00:00:00",
            "+2024-01-05",
            "2024-01-0a",
            "１９８５-12-10",
            "05-01-24",
            "2024--1-05",
        ] {
            assert_eq!(code(bad, false), "date_invalid", "{bad}");
        }
    }

    #[test]
    fn years_before_1870_are_refused() {
        assert_eq!(code("1869-12-31", false), "date_out_of_range");
        assert!(validate("1870-01-01", false, today()).is_ok());
        assert_eq!(code("0000-01-01", false), "date_out_of_range");
    }

    #[test]
    fn a_birth_date_cannot_be_in_the_future() {
        assert_eq!(code("2025-06-16", true), "date_in_future");
        assert!(validate("2025-06-15", true, today()).is_ok());
        // Other dates (a deadline, a start date) may be in the future.
        assert!(validate("2030-01-01", false, today()).is_ok());
    }

    #[test]
    fn messages_never_echo_the_value() {
        for bad in ["1985-13-10", "2999-01-01", "1800-01-01"] {
            let e = validate(bad, true, today()).unwrap_err();
            assert!(
                !e.message.contains("1985")
                    && !e.message.contains("2999")
                    && !e.message.contains("1800")
            );
        }
    }
}
