//! Prices as an Italian invoice states them: one line per thing sold (the service, its search
//! step, each option, the day's API calls), each line's taxable amount rounded to the cent and
//! its VAT computed on that amount and rounded half-up to the cent, line by line.
//!
//! Exact: everything is `Decimal` here and integer cents once it reaches the books
//! ([`to_cents`]); €0.001 per call is multiplied exactly before the one rounding of its line.
//! No floating point anywhere.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::catalog::{Service, Vat};

/// What each metered API call of a live token costs before VAT: €0.001.
pub const CALL_FEE: Decimal = Decimal::from_parts(1, 0, 0, false, 3);

/// What a line bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// The service itself (`prezzo_visura`).
    Servizio,
    /// The search step (`prezzo_ricerca`), for services that have one.
    Ricerca,
    /// A chosen option.
    Opzione,
    /// A day's metered API calls.
    Chiamate,
}

/// One invoice line. Amounts are in euro with exactly two decimals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub tipo: LineKind,
    /// The option's name (`opzione_0`) or the service hash; what the line is about.
    pub codice: String,
    /// A description for a person (`Domanda Assegno Unico`, `urgenza`, `1234 chiamate API`).
    pub descrizione: String,
    pub imponibile: Decimal,
    pub aliquota_iva: Decimal,
    pub iva: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub esenzione_iva: Option<String>,
}

impl Line {
    pub fn new(
        tipo: LineKind,
        codice: impl Into<String>,
        descrizione: impl Into<String>,
        amount: Decimal,
        vat: &Vat,
    ) -> Line {
        let imponibile = cents(amount);
        Line {
            tipo,
            codice: codice.into(),
            descrizione: descrizione.into(),
            imponibile,
            aliquota_iva: vat.aliquota,
            iva: vat_of(imponibile, vat.aliquota),
            esenzione_iva: vat.esenzione.clone(),
        }
    }

    pub fn totale(&self) -> Decimal {
        self.imponibile + self.iva
    }
}

/// A priced set of lines: a quote, a request's charge, a day's fees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub righe: Vec<Line>,
}

impl Quote {
    /// The sum of the lines' taxable amounts.
    pub fn imponibile(&self) -> Decimal {
        self.righe.iter().map(|l| l.imponibile).sum()
    }

    /// The sum of the lines' VAT (each already rounded: the invoice's VAT is their sum).
    pub fn iva(&self) -> Decimal {
        self.righe.iter().map(|l| l.iva).sum()
    }

    pub fn totale(&self) -> Decimal {
        self.imponibile() + self.iva()
    }
}

/// An option the client chose that the service does not offer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the service offers no option {0}")]
pub struct UnknownOption(pub String);

/// What a request for `service` with `opzioni` costs: the service, its search step when it has
/// one, and each chosen option (in the order chosen). Every unknown option is reported.
pub fn quote(service: &Service, opzioni: &[String]) -> Result<Quote, Vec<UnknownOption>> {
    let vat = &service.iva;
    let mut righe = vec![Line::new(
        LineKind::Servizio,
        &service.hash_visura,
        &service.nome_visura,
        service.prezzo_visura,
        vat,
    )];
    if service.ricerca && !service.prezzo_ricerca.is_zero() {
        righe.push(Line::new(
            LineKind::Ricerca,
            &service.hash_visura,
            format!("{} — ricerca", service.nome_visura),
            service.prezzo_ricerca,
            vat,
        ));
    }
    let mut unknown = Vec::new();
    for name in opzioni {
        match service.option(name) {
            Some(o) => righe.push(Line::new(
                LineKind::Opzione,
                &o.nome,
                &o.tipo,
                o.prezzo,
                vat,
            )),
            None => unknown.push(UnknownOption(name.clone())),
        }
    }
    if unknown.is_empty() {
        Ok(Quote { righe })
    } else {
        Err(unknown)
    }
}

/// A day's metered calls: `calls` × [`CALL_FEE`], exact, then rounded once as one line at the
/// ordinary rate.
pub fn call_fees(calls: u64) -> Line {
    Line::new(
        LineKind::Chiamate,
        "api",
        format!("{calls} chiamate API"),
        CALL_FEE * Decimal::from(calls),
        &Vat::default(),
    )
}

/// Rounded half-up to the cent, as invoices round (0.005 → 0.01; negatives mirror positives).
pub fn cents(amount: Decimal) -> Decimal {
    let mut d = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    d.rescale(2);
    d
}

/// The VAT of a taxable amount at `percent`, rounded half-up to the cent.
pub fn vat_of(imponibile: Decimal, percent: Decimal) -> Decimal {
    cents(imponibile * percent / Decimal::ONE_HUNDRED)
}

/// Euro (two decimals) to integer cents, for the books. Amounts beyond ±9×10^16 € saturate; no
/// price comes near.
pub fn to_cents(amount: Decimal) -> i64 {
    let c = cents(amount) * Decimal::ONE_HUNDRED;
    i64::try_from(c.trunc()).unwrap_or(if c.is_sign_negative() {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// Integer cents to euro with two decimals.
pub fn from_cents(c: i64) -> Decimal {
    Decimal::new(c, 2)
}

/// Parses an amount of euro given by a person (`"50"`, `"12.30"`, `"-5.5"`): at most two
/// decimals, non-zero.
pub fn parse_amount(text: &str) -> Result<Decimal, &'static str> {
    let text = text.trim();
    // Plain notation only: `1e3` is not how anyone writes an amount of money.
    if !text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))
    {
        return Err("not a decimal amount of euro (`50`, `12.30`)");
    }
    let d: Decimal = text
        .parse()
        .map_err(|_| "not a decimal amount of euro (`50`, `12.30`)")?;
    if d.normalize().scale() > 2 {
        return Err("at most two decimals (cents)");
    }
    if d.is_zero() {
        return Err("must not be zero");
    }
    if d.abs() > Decimal::from(1_000_000_000) {
        return Err("out of range");
    }
    Ok(cents(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    #[test]
    fn vat_rounds_half_up_to_the_cent() {
        // 0.75 × 22 % = 0.165: half-up gives 0.17 (banker's rounding would give 0.16).
        assert_eq!(vat_of(d("0.75"), d("22")), d("0.17"));
        // 0.25 × 22 % = 0.055 → 0.06; 14.70 × 22 % = 3.234 → 3.23; 11.70 → 2.574 → 2.57.
        assert_eq!(vat_of(d("0.25"), d("22")), d("0.06"));
        assert_eq!(vat_of(d("14.70"), d("22")), d("3.23"));
        assert_eq!(vat_of(d("11.70"), d("22")), d("2.57"));
        assert_eq!(vat_of(d("12.70"), d("22")), d("2.79"));
        assert_eq!(vat_of(d("19"), d("22")), d("4.18"));
        assert_eq!(vat_of(d("40"), d("22")), d("8.80"));
        assert_eq!(vat_of(d("19"), d("0")), d("0.00"));
        // A reduced rate: 10 % of 0.05 = 0.005 → 0.01.
        assert_eq!(vat_of(d("0.05"), d("10")), d("0.01"));
    }

    #[test]
    fn cents_round_half_up_and_keep_two_decimals() {
        assert_eq!(cents(d("0.005")).to_string(), "0.01");
        assert_eq!(cents(d("0.0049999")).to_string(), "0.00");
        assert_eq!(cents(d("-0.005")).to_string(), "-0.01");
        assert_eq!(cents(d("19")).to_string(), "19.00");
        assert_eq!(to_cents(d("14.70")), 1470);
        assert_eq!(from_cents(1470), d("14.70"));
        assert_eq!(to_cents(d("-5.5")), -550);
    }

    #[test]
    fn call_fees_are_exact_before_the_one_rounding() {
        // 1,000 calls at €0.001 are exactly €1.00, VAT 0.22.
        let l = call_fees(1000);
        assert_eq!((l.imponibile, l.iva), (d("1.00"), d("0.22")));
        // 1,234 calls: 1.234 → 1.23; VAT on 1.23 = 0.2706 → 0.27.
        let l = call_fees(1234);
        assert_eq!((l.imponibile, l.iva), (d("1.23"), d("0.27")));
        // 5 calls: 0.005 → 0.01 (half-up).
        assert_eq!(call_fees(5).imponibile, d("0.01"));
        assert_eq!(call_fees(4).imponibile, d("0.00"));
        // No drift on a large count: ten million calls are exactly €10,000.
        assert_eq!(call_fees(10_000_000).imponibile, d("10000.00"));
    }

    #[test]
    fn a_quote_has_one_line_per_thing_with_its_own_vat() {
        let catalog = Catalog::embedded().unwrap_or_else(|e| panic!("{e}"));
        let assegno = catalog
            .get("224fcc49770edad354cdd9c480a7e50e")
            .unwrap_or_else(|| panic!("no assegno"));
        let q = quote(assegno, &["opzione_0".into(), "opzione_1".into()])
            .unwrap_or_else(|e| panic!("{e:?}"));
        let lines: Vec<(LineKind, Decimal, Decimal)> = q
            .righe
            .iter()
            .map(|l| (l.tipo, l.imponibile, l.iva))
            .collect();
        assert_eq!(
            lines,
            vec![
                (LineKind::Servizio, d("19.00"), d("4.18")),
                (LineKind::Opzione, d("4.00"), d("0.88")),
                (LineKind::Opzione, d("10.00"), d("2.20")),
            ]
        );
        assert_eq!(q.imponibile(), d("33.00"));
        assert_eq!(q.iva(), d("7.26"));
        assert_eq!(q.totale(), d("40.26"));
    }

    #[test]
    fn unknown_options_are_all_reported() {
        let catalog = Catalog::embedded().unwrap_or_else(|e| panic!("{e}"));
        let famiglia = catalog
            .get("4c84e22bbabd5f25b0102bb3bfe82790")
            .unwrap_or_else(|| panic!("no famiglia"));
        let e = quote(famiglia, &["opzione_1".into(), "opzione_9".into()]);
        assert_eq!(
            e,
            Err(vec![
                UnknownOption("opzione_1".into()),
                UnknownOption("opzione_9".into())
            ])
        );
    }

    #[test]
    fn amounts_typed_by_people() {
        assert_eq!(parse_amount("50"), Ok(d("50.00")));
        assert_eq!(parse_amount(" -5.5 "), Ok(d("-5.50")));
        assert!(parse_amount("1.234").is_err());
        assert!(parse_amount("0").is_err());
        assert!(parse_amount("abc").is_err());
        assert!(parse_amount("1e3").is_err());
    }

    proptest::proptest! {
        /// The invoice total is the sum of its lines, and VAT never drifts from the rate by
        /// more than half a cent per line.
        #[test]
        fn line_vat_is_within_half_a_cent(c in 0i64..10_000_000, rate in 0u32..=100) {
            let net = from_cents(c);
            let vat = vat_of(net, Decimal::from(rate));
            let exact = net * Decimal::from(rate) / Decimal::ONE_HUNDRED;
            proptest::prop_assert!((vat - exact).abs() <= d("0.005"));
            proptest::prop_assert_eq!(vat.scale(), 2);
            proptest::prop_assert_eq!(from_cents(to_cents(vat)), vat);
        }
    }
}
