//! Partita IVA: 11 digits, the last a Luhn-style check digit (DPR 633/1972, art. 35).
//!
//! Layout: the 11-digit numeric form of the codice fiscale (DM 23/12/1976), which is also the
//! codice fiscale of companies and other non-natural persons. Digits 1–7 are a serial number,
//! 8–10 the code of the Agenzia delle Entrate office that assigned it, 11 the check digit.
//! Errors never contain the value.

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PartitaIva(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PivaError {
    #[error("a partita IVA has 11 digits")]
    Format,
    #[error("the check digit of the partita IVA does not match the other digits")]
    CheckDigit,
    #[error("the office code of the partita IVA (digits 8 to 10) is not one that is assigned")]
    Office,
}

impl PivaError {
    pub fn code(&self) -> &'static str {
        match self {
            PivaError::Format => "piva_format",
            PivaError::CheckDigit => "piva_check_digit",
            PivaError::Office => "piva_office",
        }
    }
}

impl PartitaIva {
    /// Accepts surrounding spaces. Checks the format, the office code and the check digit, in
    /// that order.
    pub fn parse(s: &str) -> Result<PartitaIva, PivaError> {
        let s = s.trim();
        let Ok(digits) = <[u8; 11]>::try_from(s.as_bytes()) else {
            return Err(PivaError::Format);
        };
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(PivaError::Format);
        }
        let digits = digits.map(|b| b - b'0');
        if !office_assigned(&digits) {
            return Err(PivaError::Office);
        }
        if check_digit(&digits[..10]) != Some(digits[10]) {
            return Err(PivaError::CheckDigit);
        }
        Ok(PartitaIva(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The office code, digits 8–10 (e.g. `"015"`, Milano).
    pub fn office_code(&self) -> &str {
        self.0.get(7..10).unwrap_or_default()
    }

    /// The check digit for the first 10 digits of a partita IVA: digits in odd positions (1st,
    /// 3rd, …) are summed as they are, those in even positions are doubled, less 9 when the
    /// double exceeds 9, and the check digit brings the total to a multiple of 10. `None` unless
    /// given exactly 10 ASCII digits.
    pub fn compute_check_digit(first10: &str) -> Option<char> {
        let digits: Vec<u8> = first10
            .bytes()
            .map(|b| b.is_ascii_digit().then(|| b - b'0'))
            .collect::<Option<_>>()?;
        check_digit(&digits).map(|d| char::from(b'0' + d))
    }
}

impl std::fmt::Display for PartitaIva {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for PartitaIva {
    type Err = PivaError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PartitaIva::parse(s)
    }
}

/// Office codes in use: 001–100 are the provincial offices; 120, 121, 888 and 999 are special
/// codes of the Agenzia (999, for example, for non-residents who identify themselves directly).
/// Anything else is a mistyped number even when its check digit happens to match.
fn office_assigned(digits: &[u8; 11]) -> bool {
    let office = u16::from(digits[7]) * 100 + u16::from(digits[8]) * 10 + u16::from(digits[9]);
    matches!(office, 1..=100 | 120 | 121 | 888 | 999)
}

fn check_digit(first10: &[u8]) -> Option<u8> {
    if first10.len() != 10 {
        return None;
    }
    let sum: u32 = first10
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                d
            } else if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        })
        .sum();
    u8::try_from((10 - sum % 10) % 10).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Partite IVA published by large Italian companies (offices 015 Milano, 001 Torino,
    /// 100 and 058 Roma); their check digits were also verified with an independent Python
    /// implementation of the rule.
    const VALID: [&str; 5] = [
        "00743110157",
        "00488410010",
        "01114601006",
        "00811720580",
        "15844561009",
    ];

    #[test]
    fn accepts_real_numbers() {
        for piva in VALID {
            let parsed = PartitaIva::parse(piva).unwrap();
            assert_eq!(parsed.as_str(), piva);
        }
        assert_eq!(
            PartitaIva::parse("00743110157").unwrap().office_code(),
            "015"
        );
    }

    #[test]
    fn accepts_surrounding_spaces() {
        assert_eq!(
            PartitaIva::parse(" 00743110157\t").unwrap().as_str(),
            "00743110157"
        );
    }

    #[test]
    fn computes_the_check_digit() {
        assert_eq!(PartitaIva::compute_check_digit("0074311015"), Some('7'));
        assert_eq!(PartitaIva::compute_check_digit("007431101"), None);
        assert_eq!(PartitaIva::compute_check_digit("007431101x"), None);
    }

    #[test]
    fn rejects_malformed_input() {
        for s in [
            "",
            "0074311015",
            "007431101570",
            "0074311015a",
            "00743 10157",
            "IT00743110157",
            "００７４３１１０１５７",
        ] {
            assert_eq!(PartitaIva::parse(s), Err(PivaError::Format), "{s:?}");
        }
    }

    #[test]
    fn rejects_a_wrong_check_digit() {
        for piva in VALID {
            let mut b = piva.as_bytes().to_vec();
            b[10] = if b[10] == b'9' { b'0' } else { b[10] + 1 };
            let corrupted = String::from_utf8(b).unwrap();
            assert_eq!(PartitaIva::parse(&corrupted), Err(PivaError::CheckDigit));
        }
        // Two adjacent digits swapped.
        assert_eq!(PartitaIva::parse("07043110157"), Err(PivaError::CheckDigit));
    }

    #[test]
    fn rejects_an_office_that_does_not_exist() {
        for office in ["000", "101", "119", "122", "500", "887", "998"] {
            let first10 = format!("0074311{office}");
            let check = PartitaIva::compute_check_digit(&first10).unwrap();
            let piva = format!("{first10}{check}");
            assert_eq!(PartitaIva::parse(&piva), Err(PivaError::Office), "{office}");
        }
        for office in ["001", "100", "120", "121", "888", "999"] {
            let first10 = format!("0074311{office}");
            let check = PartitaIva::compute_check_digit(&first10).unwrap();
            assert!(
                PartitaIva::parse(&format!("{first10}{check}")).is_ok(),
                "{office}"
            );
        }
    }

    #[test]
    fn error_codes_and_messages_do_not_contain_the_value() {
        let codes: Vec<_> = [PivaError::Format, PivaError::CheckDigit, PivaError::Office]
            .iter()
            .map(PivaError::code)
            .collect();
        assert_eq!(codes, ["piva_format", "piva_check_digit", "piva_office"]);
        let message = PartitaIva::parse("00743110158").unwrap_err().to_string();
        assert!(!message.contains("00743110158"));
    }

    proptest! {
        #[test]
        fn a_computed_check_digit_is_accepted_and_any_other_is_not(
            serial in "[0-9]{7}",
            office in prop::sample::select(vec![1u16, 15, 58, 100, 120, 121, 888, 999]),
            wrong in 1u8..10,
        ) {
            let first10 = format!("{serial}{office:03}");
            let check = PartitaIva::compute_check_digit(&first10).unwrap();
            let valid = format!("{first10}{check}");
            let parsed = PartitaIva::parse(&valid).unwrap();
            prop_assert_eq!(parsed.as_str(), valid.as_str());
            let other = (check.to_digit(10).unwrap() as u8 + wrong) % 10;
            let invalid = format!("{first10}{other}");
            prop_assert_eq!(PartitaIva::parse(&invalid), Err(PivaError::CheckDigit));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,15}") {
            let _ = PartitaIva::parse(&s);
        }
    }
}
