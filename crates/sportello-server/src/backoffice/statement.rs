//! The printable monthly statement of a client (admins): the same figures as the statement API
//! (`service::statements`), laid out as a page to print or save as PDF.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::page::{html, when, PageResult};
use super::session::Staff;
use super::Nav;
use crate::service::statements::{self, Month};
use crate::state::AppState;
use crate::wire::Money;

/// An amount as an Italian invoice prints it: `1.234,50`.
fn euro(m: &Money) -> String {
    let text = format!("{:.2}", m.0.abs());
    let (int, dec) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    let sign = if m.0.is_sign_negative() && !m.0.is_zero() {
        "−"
    } else {
        ""
    };
    format!("{sign}{grouped},{dec}")
}

struct Line {
    when: String,
    what: String,
    request: String,
    amount: String,
    balance: String,
}

struct Charged {
    id: String,
    when: String,
    net: String,
    vat: String,
    total: String,
    refunded: bool,
}

#[derive(Template)]
#[template(path = "backoffice/admin_statement.html")]
struct StatementPage {
    nav: Nav,
    client: String,
    client_id: String,
    month: String,
    opening: String,
    closing: String,
    charged: Vec<Charged>,
    lines: Vec<Line>,
    totals: Vec<(&'static str, String)>,
    vat_by_rate: Vec<(String, String)>,
}

#[derive(Debug, Default, Deserialize)]
struct MonthQuery {
    mese: Option<String>,
}

async fn statement(
    State(state): State<AppState>,
    staff: Staff,
    Path(client_id): Path<String>,
    Query(q): Query<MonthQuery>,
) -> PageResult {
    staff.admin()?;
    let text = q
        .mese
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| state.clock.today().format("%Y-%m").to_string());
    let month = Month::parse(text.trim())?;
    let s = statements::statement(&state, &client_id, month).await?;
    let t = &s.totali;
    html(StatementPage {
        nav: Nav::of(&staff),
        client: s.cliente.nome.clone(),
        client_id: s.cliente.id.clone(),
        month: s.mese.clone(),
        opening: euro(&s.saldo_iniziale),
        closing: euro(&s.saldo_finale),
        charged: s
            .richieste
            .iter()
            .map(|r| Charged {
                id: r.id.clone(),
                when: when(r.timestamp),
                net: euro(&r.imponibile),
                vat: euro(&r.iva),
                total: euro(&r.totale),
                refunded: r.rimborsata,
            })
            .collect(),
        lines: s
            .movimenti
            .iter()
            .map(|m| Line {
                when: when(m.timestamp),
                what: match (&m.motivo, &m.giorno) {
                    (Some(motivo), _) => format!("{}: {motivo}", m.tipo),
                    (None, Some(day)) => {
                        format!(
                            "{} del {day} ({} chiamate)",
                            m.tipo,
                            m.chiamate.unwrap_or(0)
                        )
                    }
                    _ => m.tipo.clone(),
                },
                request: m.richiesta.clone().unwrap_or_default(),
                amount: euro(&m.importo),
                balance: euro(&m.saldo),
            })
            .collect(),
        totals: vec![
            ("Addebiti", euro(&t.addebiti)),
            ("Rimborsi", euro(&t.rimborsi)),
            ("Commissioni per chiamata", euro(&t.commissioni)),
            ("Ricariche", euro(&t.ricariche)),
            ("Rettifiche", euro(&t.rettifiche)),
            ("Imponibile", euro(&t.imponibile)),
            ("IVA", euro(&t.iva)),
        ],
        vat_by_rate: t
            .iva_per_aliquota
            .iter()
            .map(|(rate, vat)| (rate.clone(), euro(vat)))
            .collect(),
    })
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/backoffice/admin/clienti/{id}/estratto", get(statement))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn amounts_are_printed_the_italian_way() {
        let m = |s: &str| Money(s.parse::<Decimal>().unwrap_or_default());
        assert_eq!(euro(&m("1234.5")), "1.234,50");
        assert_eq!(euro(&m("0.07")), "0,07");
        assert_eq!(euro(&m("-19")), "−19,00");
        assert_eq!(euro(&m("1000000")), "1.000.000,00");
    }
}
