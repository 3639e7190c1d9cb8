//! Italian comuni (Belfiore codes, current and suppressed), province, and the Z-codes of foreign
//! states, from the reference data committed under `data/` (ANPR, CC BY 4.0; see
//! `data/SOURCE.md`).
//!
//! The CSV files are embedded with `include_str!` and parsed once, on first use, into lookup
//! tables. Lookups are case-insensitive and ignore surrounding spaces. This module never reads a
//! file at run time and never panics: a malformed line of the embedded data is skipped (and the
//! unit tests check that none is).

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::NaiveDate;

const COMUNI_CSV: &str = include_str!("../../../../data/comuni.csv");
const PROVINCE_CSV: &str = include_str!("../../../../data/province.csv");
const STATI_ESTERI_CSV: &str = include_str!("../../../../data/stati_esteri.csv");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ComuneInfo {
    pub belfiore: &'static str,
    pub nome: &'static str,
    /// Two-letter sigla of its (last) province.
    pub provincia: &'static str,
    /// Still exists today (false for suppressed comuni).
    pub current: bool,
    /// Earliest start of validity of any ANPR entry with this code, when known.
    pub valid_from: Option<NaiveDate>,
    /// End of validity of the last entry; `None` while the comune exists.
    pub valid_until: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProvinceInfo {
    pub sigla: &'static str,
    pub nome: &'static str,
    /// false for historical province that no longer exist.
    pub current: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignState {
    pub belfiore: &'static str,
    pub nome: &'static str,
    /// false for states that no longer exist (their codes stay valid in old codici fiscali).
    pub current: bool,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

/// A comune, current or suppressed, by Belfiore code (`h501`, ` H501 ` and `H501` are the same).
pub fn comune(code: &str) -> Option<ComuneInfo> {
    let key = belfiore_key(code)?;
    TABLES.comuni.get(&key).copied()
}

/// A province by sigla, current or historical (see [`ProvinceInfo::current`]).
pub fn province(sigla: &str) -> Option<ProvinceInfo> {
    let key = sigla_key(sigla)?;
    TABLES.province.get(&key).copied()
}

/// A foreign state by its `Z…` code, including states that no longer exist.
pub fn foreign_state(code: &str) -> Option<ForeignState> {
    let key = belfiore_key(code)?;
    TABLES.stati.get(&key).copied()
}

/// A Belfiore code that appears in a codice fiscale: a comune (current or suppressed) or a
/// foreign state.
pub fn belfiore_exists(code: &str) -> bool {
    comune(code).is_some() || foreign_state(code).is_some()
}

/// Every comune in the reference data, current and suppressed, ordered by Belfiore code.
pub fn all_comuni() -> impl Iterator<Item = ComuneInfo> {
    TABLES.comuni_sorted.iter().copied()
}

/// Every province sigla, current and historical, in alphabetical order.
pub fn all_province() -> impl Iterator<Item = ProvinceInfo> {
    TABLES.province_sorted.iter().copied()
}

/// Every foreign state, current and former, ordered by code.
pub fn all_foreign_states() -> impl Iterator<Item = ForeignState> {
    TABLES.stati_sorted.iter().copied()
}

struct Tables {
    comuni: HashMap<[u8; 4], ComuneInfo>,
    comuni_sorted: Vec<ComuneInfo>,
    province: HashMap<[u8; 2], ProvinceInfo>,
    province_sorted: Vec<ProvinceInfo>,
    stati: HashMap<[u8; 4], ForeignState>,
    stati_sorted: Vec<ForeignState>,
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let comuni_sorted: Vec<ComuneInfo> = rows(COMUNI_CSV).filter_map(parse_comune).collect();
    let province_sorted: Vec<ProvinceInfo> =
        rows(PROVINCE_CSV).filter_map(parse_province).collect();
    let stati_sorted: Vec<ForeignState> = rows(STATI_ESTERI_CSV).filter_map(parse_state).collect();
    Tables {
        comuni: index(&comuni_sorted, |c| belfiore_key(c.belfiore)),
        province: index(&province_sorted, |p| sigla_key(p.sigla)),
        stati: index(&stati_sorted, |s| belfiore_key(s.belfiore)),
        comuni_sorted,
        province_sorted,
        stati_sorted,
    }
});

fn index<T: Copy, K: std::hash::Hash + Eq>(
    items: &[T],
    key: impl Fn(&T) -> Option<K>,
) -> HashMap<K, T> {
    items
        .iter()
        .filter_map(|item| key(item).map(|k| (k, *item)))
        .collect()
}

/// The data lines of an embedded CSV (header skipped), split on commas. `regenerate.py`
/// guarantees that no field needs quoting.
fn rows(csv: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    csv.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split(',').map(str::trim).collect())
}

fn parse_comune(f: Vec<&'static str>) -> Option<ComuneInfo> {
    let [belfiore, nome, provincia, current, dal, al] = f.as_slice() else {
        return None;
    };
    belfiore_key(belfiore)?;
    Some(ComuneInfo {
        belfiore,
        nome,
        provincia,
        current: flag(current)?,
        valid_from: date(dal)?,
        valid_until: date(al)?,
    })
}

fn parse_province(f: Vec<&'static str>) -> Option<ProvinceInfo> {
    let [sigla, nome, current] = f.as_slice() else {
        return None;
    };
    sigla_key(sigla)?;
    Some(ProvinceInfo {
        sigla,
        nome,
        current: flag(current)?,
    })
}

fn parse_state(f: Vec<&'static str>) -> Option<ForeignState> {
    let [belfiore, nome, current, dal, al] = f.as_slice() else {
        return None;
    };
    belfiore_key(belfiore)?;
    Some(ForeignState {
        belfiore,
        nome,
        current: flag(current)?,
        valid_from: date(dal)?,
        valid_until: date(al)?,
    })
}

fn flag(s: &str) -> Option<bool> {
    match s {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

/// `Some(None)` for an empty field, `None` for a malformed one.
fn date(s: &str) -> Option<Option<NaiveDate>> {
    if s.is_empty() {
        return Some(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().map(Some)
}

/// A Belfiore code is one letter and three digits; anything else cannot be in the tables, so it
/// is turned away before hashing (and without allocating).
fn belfiore_key(code: &str) -> Option<[u8; 4]> {
    let key: [u8; 4] = code.trim().as_bytes().try_into().ok()?;
    let key = key.map(|b| b.to_ascii_uppercase());
    (key[0].is_ascii_uppercase() && key[1..].iter().all(u8::is_ascii_digit)).then_some(key)
}

fn sigla_key(sigla: &str) -> Option<[u8; 2]> {
    let key: [u8; 2] = sigla.trim().as_bytes().try_into().ok()?;
    let key = key.map(|b| b.to_ascii_uppercase());
    key.iter().all(u8::is_ascii_uppercase).then_some(key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn data_lines(csv: &str) -> usize {
        csv.lines().skip(1).filter(|l| !l.trim().is_empty()).count()
    }

    #[test]
    fn every_line_of_the_embedded_data_is_parsed() {
        assert_eq!(all_comuni().count(), data_lines(COMUNI_CSV));
        assert_eq!(all_province().count(), data_lines(PROVINCE_CSV));
        assert_eq!(all_foreign_states().count(), data_lines(STATI_ESTERI_CSV));
        // Codes are unique after folding, so nothing is lost in the indexes.
        assert_eq!(TABLES.comuni.len(), TABLES.comuni_sorted.len());
        assert_eq!(TABLES.province.len(), TABLES.province_sorted.len());
        assert_eq!(TABLES.stati.len(), TABLES.stati_sorted.len());
    }

    #[test]
    fn the_data_has_the_expected_size() {
        // ~7,900 current comuni out of ~9,900 codes ever assigned; 107 current province.
        let current = all_comuni().filter(|c| c.current).count();
        assert!(
            (7_800..8_000).contains(&current),
            "{current} current comuni"
        );
        assert!(all_comuni().count() > 9_500);
        assert_eq!(all_province().filter(|p| p.current).count(), 107);
        assert!(all_foreign_states().count() > 200);
    }

    #[test]
    fn roma_is_a_current_comune_in_rm() {
        let roma = comune("H501").unwrap();
        assert_eq!(roma.nome, "Roma");
        assert_eq!(roma.provincia, "RM");
        assert!(roma.current);
        assert_eq!(roma.valid_until, None);
    }

    #[test]
    fn lookups_ignore_case_and_spaces() {
        assert_eq!(comune(" h501 "), comune("H501"));
        assert_eq!(province("rm"), province("RM"));
        assert_eq!(foreign_state("z404"), foreign_state("Z404"));
        assert!(belfiore_exists("h501"));
    }

    #[test]
    fn a_suppressed_comune_is_known_but_not_current() {
        // Abbadia Sopra Adda (CO), merged into Abbadia Lariana in 1928.
        let c = comune("A002").unwrap();
        assert_eq!(c.nome, "Abbadia Sopra Adda");
        assert!(!c.current);
        assert_eq!(c.valid_until, NaiveDate::from_ymd_opt(1928, 3, 6));
        assert!(belfiore_exists("A002"));
    }

    #[test]
    fn a_renamed_comune_is_current_under_its_new_name() {
        // A001 was "Abano" until 1924, then "Abano Terme": one code, current.
        let c = comune("A001").unwrap();
        assert_eq!(c.nome, "Abano Terme");
        assert!(c.current);
    }

    #[test]
    fn comuni_of_former_italian_territories_keep_their_historical_province() {
        // Zara (ZA), ceded in 1947.
        let zara = comune("M149").unwrap();
        assert!(!zara.current);
        assert_eq!(zara.provincia, "ZA");
        assert!(!province("ZA").unwrap().current);
    }

    #[test]
    fn foreign_states_have_z_codes() {
        let usa = foreign_state("Z404").unwrap();
        assert_eq!(usa.nome, "Stati Uniti D'America");
        assert!(usa.current);
        let ussr = foreign_state("Z135").unwrap();
        assert!(!ussr.current);
        assert!(belfiore_exists("Z135"));
        assert!(comune("Z404").is_none());
        assert!(foreign_state("H501").is_none());
    }

    #[test]
    fn historical_province_are_flagged() {
        let forli = province("FO").unwrap();
        assert!(!forli.current);
        let forli_cesena = province("FC").unwrap();
        assert!(forli_cesena.current);
        assert_eq!(forli_cesena.nome, "Forlì-Cesena");
        for sigla in ["CI", "VS", "OG", "OT", "PS", "PL", "FU", "ZA"] {
            assert!(!province(sigla).unwrap().current, "{sigla}");
        }
        assert!(province("SU").unwrap().current);
    }

    #[test]
    fn unknown_and_malformed_codes_are_absent() {
        for code in [
            "", "H50", "H5011", "1501", "Z999", "ZZZZ", "H50١", "ÀÀ", "XX", "R",
        ] {
            assert!(!belfiore_exists(code), "{code:?}");
            assert!(province(code).is_none(), "{code:?}");
        }
    }

    #[test]
    fn every_comune_belongs_to_a_known_province() {
        for c in all_comuni() {
            let p = province(c.provincia).unwrap();
            if c.current {
                assert!(p.current, "{} in {}", c.belfiore, c.provincia);
            }
        }
    }
}
