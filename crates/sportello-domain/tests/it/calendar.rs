//! The calendar against an independent source, day by day, and the properties of working-time
//! arithmetic.

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use sportello_domain::calendar::{local_date, Calendar, Closure};
use sportello_domain::catalog::Turnaround;

/// Named by `holidays` on the first Sunday of November, but a celebration, not a day off (see
/// the fixture's script): always a Sunday, so it never changes a working day.
const NOT_A_DAY_OFF: &str = "Giorno dell'unità nazionale";

#[test]
fn agrees_with_the_python_holidays_package_every_day_2020_2035() {
    let fixture = include_str!("fixtures/italy_2020_2035.tsv");
    let calendar = Calendar::national();
    let mut days = 0;
    for line in fixture.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let date = NaiveDate::parse_from_str(cols[0], "%Y-%m-%d").expect("fixture date");
        let working = cols[1] == "true";
        let ours = calendar.day(date);
        assert_eq!(ours.working, working, "{date}: working day?");
        if let Some(expected) = cols.get(2) {
            let expected: Vec<&str> = expected
                .split("; ")
                .filter(|n| *n != NOT_A_DAY_OFF)
                .collect();
            let expected = if expected.is_empty() {
                // Only the celebration: a plain Sunday for us.
                "domenica".to_string()
            } else {
                expected.join("; ")
            };
            assert_eq!(ours.reason.as_deref(), Some(expected.as_str()), "{date}");
        }
        days += 1;
    }
    // Every day of the 16 years, none skipped.
    assert_eq!(days, 5844);
}

fn turnaround() -> impl Strategy<Value = Turnaround> {
    prop_oneof![
        (1u32..=200).prop_map(Turnaround::WorkingHours),
        (1u32..=30).prop_map(Turnaround::WorkingDays),
    ]
}

fn calendar() -> impl Strategy<Value = Calendar> {
    prop_oneof![
        Just(Calendar::national()),
        Just(Calendar::with_closures(vec![
            Closure::yearly("06-29", "Santi Pietro e Paolo").expect("valid"),
            Closure::yearly("12-24", "Vigilia di Natale").expect("valid"),
            Closure::yearly("12-31", "San Silvestro").expect("valid"),
            Closure::yearly("08-08..08-23", "Chiusura estiva").expect("valid"),
        ])),
    ]
}

/// 2020-01-01 to 2035-12-31, in seconds; the DST weekends included.
fn instant() -> impl Strategy<Value = i64> {
    1_577_833_200i64..2_082_754_800
}

/// Within three days of a daylight-saving change in Rome (the last Sunday of March or October,
/// 2020–2035), where an error in day lengths would show.
fn around_a_dst_change() -> impl Strategy<Value = i64> {
    (2020i32..=2035, prop::bool::ANY, -3 * 86_400i64..3 * 86_400).prop_map(|(y, spring, off)| {
        let month = if spring { 3 } else { 10 };
        let last_sunday = NaiveDate::from_ymd_opt(y, month, 31)
            .expect("31 March and 31 October exist")
            .iter_days()
            .rev()
            .find(|d| d.weekday() == chrono::Weekday::Sun)
            .expect("a Sunday within a week");
        sportello_domain::calendar::start_of_day(last_sunday).expect("in range") + off
    })
}

proptest! {
    #[test]
    fn around_dst_changes_hours_are_exact_and_days_end_at_midnight(
        start in around_a_dst_change(), h in 1u32..=120, n in 1u32..=5
    ) {
        let cal = Calendar::national();
        let due = cal.due(start, Turnaround::WorkingHours(h)).expect("a due time");
        prop_assert_eq!(cal.working_seconds_between(start, due), Ok(i64::from(h) * 3600));
        prop_assert!(cal.is_working(local_date(due - 1).expect("in range")));
        let due = cal.due(start, Turnaround::WorkingDays(n)).expect("a due time");
        let midnight = sportello_domain::calendar::start_of_day(local_date(due).expect("in range"));
        prop_assert_eq!(midnight, Ok(due));
    }

    #[test]
    fn the_due_time_never_lands_inside_a_closed_day(
        cal in calendar(), start in instant(), t in turnaround()
    ) {
        let due = cal.due(start, t).expect("a due time");
        prop_assert!(due > start);
        // The last second before the due time is working time.
        prop_assert!(cal.is_working(local_date(due - 1).expect("in range")));
    }

    #[test]
    fn working_hours_are_exactly_that_much_working_time(
        cal in calendar(), start in instant(), h in 1u32..=200
    ) {
        let due = cal.due(start, Turnaround::WorkingHours(h)).expect("a due time");
        prop_assert_eq!(cal.working_seconds_between(start, due), Ok(i64::from(h) * 3600));
    }

    #[test]
    fn working_days_count_n_working_days_after_the_start_day(
        cal in calendar(), start in instant(), n in 1u32..=30
    ) {
        let due = cal.due(start, Turnaround::WorkingDays(n)).expect("a due time");
        let first = local_date(start).expect("in range");
        let last = local_date(due - 1).expect("in range");
        let counted = first
            .iter_days()
            .skip(1)
            .take_while(|d| *d <= last)
            .filter(|d| cal.is_working(*d))
            .count();
        prop_assert_eq!(counted, n as usize);
        // It ends at a midnight in Rome.
        prop_assert_eq!(local_date(due).expect("in range"), last.succ_opt().expect("a next day"));
        prop_assert_eq!(local_date(due - 1).map(|d| d.day()), Ok(last.day()));
    }

    #[test]
    fn a_later_start_or_a_longer_turnaround_is_never_due_earlier(
        cal in calendar(), a in instant(), gap in 0i64..20 * 86_400, t in turnaround()
    ) {
        let due_a = cal.due(a, t).expect("a due time");
        let due_b = cal.due(a + gap, t).expect("a due time");
        prop_assert!(due_a <= due_b);
        let longer = match t {
            Turnaround::WorkingHours(h) => Turnaround::WorkingHours(h + 1),
            Turnaround::WorkingDays(d) => Turnaround::WorkingDays(d + 1),
        };
        prop_assert!(cal.due(a, longer).expect("a due time") > due_a);
    }

    #[test]
    fn stopping_the_clock_and_resuming_adds_back_the_waited_working_time(
        cal in calendar(), a in instant(), pause in 0i64..30 * 86_400, secs in 0i64..30 * 86_400
    ) {
        let moved = cal.add_working_seconds(a, secs).expect("an instant");
        prop_assert_eq!(cal.working_seconds_between(a, moved), Ok(secs));
        // Measured working time is additive over any split point.
        let b = a + pause;
        let whole = cal.working_seconds_between(a, moved.max(b)).expect("measured");
        let parts = cal.working_seconds_between(a, b).expect("measured")
            + cal.working_seconds_between(b, moved.max(b)).expect("measured");
        prop_assert_eq!(whole, parts);
    }
}

#[test]
fn the_calendar_of_a_year_lists_every_day_with_a_reason_when_closed() {
    let days: Vec<_> = Calendar::national().year(2026).collect();
    assert_eq!(days.len(), 365);
    assert!(days.iter().all(|d| d.working == d.reason.is_none()));
    // 261 weekdays, of which 7 holidays (1 and 6 Jan, 6 Apr, 1 May, 2 Jun, 8 and 25 Dec).
    assert_eq!(days.iter().filter(|d| d.working).count(), 254);
    assert_eq!(days[0].date.ordinal(), 1);
}
