//! Easter Sunday of the Gregorian calendar, computed (no table), for the holidays that hang on it.

use chrono::NaiveDate;

/// Easter Sunday of `year`, by the anonymous Gregorian algorithm (Meeus/Jones/Butcher), valid for
/// every Gregorian year. `None` only where chrono cannot represent the date.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    #[test]
    fn known_easter_sundays() {
        // From the Vatican's published dates; 2285 is the latest possible (25 April), 1818 and
        // 2160 the earliest (22 March).
        for (y, m, d) in [
            (2019, 4, 21),
            (2020, 4, 12),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
            (1818, 3, 22),
            (2285, 3, 22),
            (2000, 4, 23),
        ] {
            assert_eq!(easter_sunday(y), Some(date(y, m, d)), "{y}");
        }
    }

    #[test]
    fn always_a_sunday_between_22_march_and_25_april() {
        use chrono::{Datelike, Weekday};
        for y in 1583..=4099 {
            let e = easter_sunday(y).expect("representable");
            assert_eq!(e.weekday(), Weekday::Sun, "{y}");
            assert!(e >= date(y, 3, 22) && e <= date(y, 4, 25), "{y}: {e}");
        }
    }
}
