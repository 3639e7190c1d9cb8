//! The national public holidays of Italy (law 260/1949 and its amendments), by date.
//!
//! The names are the ones the Python `holidays` package uses in Italian, so the independent
//! fixtures and this calendar can be compared word for word.

use chrono::{Datelike, Duration, NaiveDate};

use super::easter::easter_sunday;

/// 4 October became a national holiday again from 2026: law 151 of 2025 (San Francesco d'Assisi,
/// patron saint of Italy).
pub const SAN_FRANCESCO_FROM: i32 = 2026;

/// The national holidays falling on `date` (more than one when Easter meets 25 April, as in
/// 2038), joined with "; " as the `holidays` package does.
pub fn holiday(date: NaiveDate) -> Option<String> {
    let names: Vec<&str> = fixed(date).into_iter().chain(easter(date)).collect();
    (!names.is_empty()).then(|| names.join("; "))
}

fn fixed(date: NaiveDate) -> Option<&'static str> {
    match (date.month(), date.day()) {
        (1, 1) => Some("Capodanno"),
        (1, 6) => Some("Epifania"),
        (4, 25) => Some("Anniversario della Liberazione"),
        (5, 1) => Some("Festa del Lavoro"),
        (6, 2) => Some("Festa della Repubblica"),
        (8, 15) => Some("Assunzione della Beata Vergine Maria"),
        (10, 4) if date.year() >= SAN_FRANCESCO_FROM => {
            Some("Festa nazionale di San Francesco d'Assisi, patrono d'Italia")
        }
        (11, 1) => Some("Ognissanti"),
        (12, 8) => Some("Immacolata Concezione"),
        (12, 25) => Some("Natale"),
        (12, 26) => Some("Santo Stefano"),
        _ => None,
    }
}

fn easter(date: NaiveDate) -> Option<&'static str> {
    let easter = easter_sunday(date.year())?;
    if date == easter {
        Some("Pasqua")
    } else if date == easter + Duration::days(1) {
        Some("Lunedì dell'Angelo")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn san_francesco_only_from_2026() {
        assert_eq!(holiday(date(2025, 10, 4)), None);
        assert!(holiday(date(2026, 10, 4)).is_some());
        assert!(holiday(date(2040, 10, 4)).is_some());
    }

    #[test]
    fn easter_monday_moves_with_easter() {
        assert_eq!(
            holiday(date(2026, 4, 6)).as_deref(),
            Some("Lunedì dell'Angelo")
        );
        assert_eq!(
            holiday(date(2025, 4, 21)).as_deref(),
            Some("Lunedì dell'Angelo")
        );
        assert_eq!(holiday(date(2025, 4, 6)), None);
    }

    #[test]
    fn easter_meeting_liberation_day_names_both() {
        assert_eq!(
            holiday(date(2038, 4, 25)).as_deref(),
            Some("Anniversario della Liberazione; Pasqua")
        );
        assert_eq!(
            holiday(date(2011, 4, 25)).as_deref(),
            Some("Anniversario della Liberazione; Lunedì dell'Angelo")
        );
    }

    #[test]
    fn thirteen_holidays_a_year_from_2026() {
        // 10 fixed ones, 11 with San Francesco, plus Easter Sunday and Monday.
        let count = |y| {
            date(y, 1, 1)
                .iter_days()
                .take_while(|d| d.year() == y)
                .filter(|d| holiday(*d).is_some())
                .count()
        };
        assert_eq!(count(2025), 12);
        assert_eq!(count(2026), 13);
    }
}
