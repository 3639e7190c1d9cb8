//! Our codice fiscale parser against an independent implementation: `fixtures/codici_fiscali.csv`
//! holds codes made and decoded by the PyPI package `python-codicefiscale` (see
//! `fixtures/make_codici_fiscali.py`), with invented people born in current and suppressed comuni
//! and abroad, and omocodia variants.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::HashMap;

use chrono::NaiveDate;
use sportello_domain::fields::codice_fiscale::{
    name_code, surname_code, CfError, CodiceFiscale, Sex,
};
use sportello_domain::fields::territory;

const FIXTURE: &str = include_str!("fixtures/codici_fiscali.csv");

struct Case {
    code: &'static str,
    surname: &'static str,
    name: &'static str,
    sex: Sex,
    birth_date: NaiveDate,
    belfiore: &'static str,
    omocode: bool,
}

/// The date the fixture was generated on: the oracle chose the century relative to it.
fn generated_on() -> NaiveDate {
    let first = FIXTURE.lines().next().unwrap();
    let (_, today) = first.split_once("today=").unwrap();
    NaiveDate::parse_from_str(today.trim(), "%Y-%m-%d").unwrap()
}

fn cases() -> Vec<Case> {
    FIXTURE
        .lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 7, "{line}");
            Case {
                code: f[0],
                surname: f[1],
                name: f[2],
                sex: match f[3] {
                    "M" => Sex::Male,
                    "F" => Sex::Female,
                    other => panic!("sex {other}"),
                },
                birth_date: NaiveDate::parse_from_str(f[4], "%Y-%m-%d").unwrap(),
                belfiore: f[5],
                omocode: f[6] == "1",
            }
        })
        .collect()
}

#[test]
fn the_fixture_covers_what_it_should() {
    let cases = cases();
    assert!(cases.len() >= 300, "{} cases", cases.len());
    let count = |f: &dyn Fn(&Case) -> bool| cases.iter().filter(|c| f(c)).count();
    assert!(count(&|c| c.sex == Sex::Female) > 100);
    assert!(count(&|c| c.sex == Sex::Male) > 100);
    assert!(count(&|c| c.omocode) > 50);
    assert!(count(&|c| c.belfiore.starts_with('Z')) > 30);
    assert!(count(&|c| territory::comune(c.belfiore).is_some_and(|x| !x.current)) > 30);
    assert!(count(&|c| territory::foreign_state(c.belfiore).is_some_and(|x| !x.current)) > 5);
}

#[test]
fn we_accept_every_code_of_the_oracle_and_decode_it_the_same_way() {
    let today = generated_on();
    for case in cases() {
        let cf = CodiceFiscale::parse(case.code)
            .unwrap_or_else(|e| panic!("{}: {}", case.code, e.code()));
        assert_eq!(cf.as_str(), case.code);
        assert_eq!(cf.sex(), case.sex, "{}", case.code);
        assert_eq!(cf.birth_date(today), Some(case.birth_date), "{}", case.code);
        assert_eq!(cf.belfiore(), case.belfiore, "{}", case.code);
        assert_eq!(cf.is_omocode(), case.omocode, "{}", case.code);
        let lower = case.code.to_ascii_lowercase();
        assert_eq!(CodiceFiscale::parse(&lower).unwrap(), cf);
    }
}

#[test]
fn we_encode_names_like_the_oracle() {
    for case in cases() {
        assert_eq!(
            surname_code(case.surname),
            case.code[..3],
            "{}",
            case.surname
        );
        assert_eq!(name_code(case.name), case.code[3..6], "{}", case.name);
    }
}

#[test]
fn we_build_the_same_code_from_the_same_parts() {
    for case in cases().iter().filter(|c| !c.omocode) {
        let cf = CodiceFiscale::encode(
            &surname_code(case.surname),
            &name_code(case.name),
            case.birth_date,
            case.sex,
            case.belfiore,
        )
        .unwrap();
        assert_eq!(cf.as_str(), case.code);
    }
}

#[test]
fn omocodia_variants_reduce_to_the_plain_code() {
    let cases = cases();
    let plain: HashMap<(&str, &str, NaiveDate, &str), &str> = cases
        .iter()
        .filter(|c| !c.omocode)
        .map(|c| ((c.surname, c.name, c.birth_date, c.belfiore), c.code))
        .collect();
    let mut checked = 0;
    for case in cases.iter().filter(|c| c.omocode) {
        let key = (case.surname, case.name, case.birth_date, case.belfiore);
        if let Some(base) = plain.get(&key) {
            let cf = CodiceFiscale::parse(case.code).unwrap();
            assert_eq!(cf.canonical().as_str(), *base, "{}", case.code);
            checked += 1;
        }
    }
    assert!(checked > 50);
}

#[test]
fn every_other_check_character_is_rejected() {
    for case in cases() {
        let (first15, check) = case.code.split_at(15);
        for other in ('A'..='Z').filter(|c| c.to_string() != check) {
            let corrupted = format!("{first15}{other}");
            assert_eq!(
                CodiceFiscale::parse(&corrupted),
                Err(CfError::CheckCharacter),
                "{corrupted}"
            );
        }
    }
}
