//! Monthly statements, read from the ledger: a client's (every request with its lines, fees,
//! refunds, top-ups, adjustments, VAT totals, opening and closing balance) and a provider's
//! settlement (what it processed). JSON for programs, CSV for spreadsheets; the back office
//! renders the same [`Statement`] as a page.
//!
//! Months are UTC calendar months. Every sum is done in integer cents: the closing balance is
//! the opening balance plus the movements, to the cent, and equals the ledger's balance at the
//! end of the month.

use chrono::{DateTime, Datelike, NaiveDate};
use serde::Serialize;
use sportello_domain::pricing::{from_cents, to_cents};
use sportello_store::ledger::{Kind, Transaction};
use std::collections::BTreeMap;
use std::fmt::Write;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::wire::{money, Money, Riga};

/// A calendar month, `YYYY-MM`, and its bounds in Unix seconds (`from` inclusive, `to` not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub first: NaiveDate,
    pub from: i64,
    pub to: i64,
}

impl Month {
    pub fn parse(text: &str) -> ApiResult<Month> {
        let bad =
            || ApiError::invalid_member("mese", "invalid_month", "a month as YYYY-MM (2026-11)");
        let (y, m) = text.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        }
        .ok_or_else(bad)?;
        let secs = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
        Ok(Month {
            first,
            from: secs(first).ok_or_else(bad)?,
            to: secs(next).ok_or_else(bad)?,
        })
    }

    pub fn label(&self) -> String {
        format!("{:04}-{:02}", self.first.year(), self.first.month())
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Party {
    pub id: String,
    pub nome: String,
}

/// One movement of the wallet: a ledger transaction as the client sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Movimento {
    pub id: i64,
    pub timestamp: i64,
    /// `addebito`, `rimborso`, `ricarica`, `rettifica`, `commissioni`.
    pub tipo: String,
    pub richiesta: Option<String>,
    /// For fees: the UTC day and the number of calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub giorno: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chiamate: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motivo: Option<String>,
    pub righe: Vec<Riga>,
    /// What it did to the balance (negative: paid from the wallet).
    pub importo: Money,
    /// The balance after it.
    pub saldo: Money,
}

/// A request debited in the month.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RichiestaAddebitata {
    #[serde(rename = "_id")]
    pub id: String,
    pub timestamp: i64,
    pub righe: Vec<Riga>,
    pub imponibile: Money,
    pub iva: Money,
    pub totale: Money,
    /// Refunded (in this month or a later one).
    pub rimborsata: bool,
}

/// The month's sums. `imponibile` and `iva` are what was invoiced: debits and fees less refunds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Totali {
    pub addebiti: Money,
    pub rimborsi: Money,
    pub commissioni: Money,
    pub ricariche: Money,
    pub rettifiche: Money,
    /// The sum of every movement's `importo`.
    pub movimenti: Money,
    pub imponibile: Money,
    pub iva: Money,
    /// VAT by rate (percent → VAT), as an invoice's summary shows it.
    #[schema(value_type = BTreeMap<String, f64>)]
    pub iva_per_aliquota: BTreeMap<String, Money>,
}

/// Calls counted and not yet billed (billed once their day is over).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChiamateDaFatturare {
    pub giorno: String,
    pub chiamate: u64,
}

/// A client's monthly statement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Statement {
    pub cliente: Party,
    pub mese: String,
    pub dal: i64,
    pub al: i64,
    pub saldo_iniziale: Money,
    pub saldo_finale: Money,
    pub richieste: Vec<RichiestaAddebitata>,
    pub movimenti: Vec<Movimento>,
    pub totali: Totali,
    pub chiamate_da_fatturare: Vec<ChiamateDaFatturare>,
}

fn tipo(kind: Kind) -> &'static str {
    match kind {
        Kind::Debit => "addebito",
        Kind::Refund => "rimborso",
        Kind::Topup => "ricarica",
        Kind::Adjustment => "rettifica",
        Kind::Fees => "commissioni",
    }
}

fn righe(t: &Transaction) -> Vec<Riga> {
    t.lines.righe.iter().map(Riga::from_line).collect()
}

/// Calls counted (in the database or still in memory) and not yet billed.
pub async fn unbilled(state: &AppState, client_id: &str) -> ApiResult<Vec<ChiamateDaFatturare>> {
    let mut days: BTreeMap<String, u64> = BTreeMap::new();
    for (day, n) in state.store.unbilled_calls(client_id).await? {
        *days.entry(day).or_insert(0) += n;
    }
    for (day, n) in state.meter.pending(client_id) {
        *days.entry(day).or_insert(0) += n;
    }
    Ok(days
        .into_iter()
        .map(|(giorno, chiamate)| ChiamateDaFatturare { giorno, chiamate })
        .collect())
}

/// `client_id`'s statement for `month`.
pub async fn statement(state: &AppState, client_id: &str, month: Month) -> ApiResult<Statement> {
    let client = state
        .store
        .get_client(client_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such client"))?;
    let opening = state.store.balance(client_id, Some(month.from)).await?;
    let txs = state
        .store
        .transactions(Some(client_id), month.from, month.to)
        .await?;
    // Refunds of this month's debits may come later: look them up to the present.
    let later = state
        .store
        .transactions(Some(client_id), month.to, i64::MAX)
        .await?;
    let refunded: std::collections::BTreeSet<&str> = txs
        .iter()
        .chain(&later)
        .filter(|t| t.kind == Kind::Refund)
        .filter_map(|t| t.request_id.as_deref())
        .collect();

    let mut by_kind: BTreeMap<&'static str, i64> = BTreeMap::new();
    let (mut net, mut vat) = (0i64, 0i64);
    let mut vat_by_rate: BTreeMap<String, i64> = BTreeMap::new();
    let mut balance = opening;
    let mut movimenti = Vec::with_capacity(txs.len());
    let mut richieste = Vec::new();
    for t in &txs {
        let effect = t.wallet_effect();
        balance += effect;
        *by_kind.entry(tipo(t.kind)).or_insert(0) += effect;
        let sign = match t.kind {
            Kind::Debit | Kind::Fees => 1,
            Kind::Refund => -1,
            Kind::Topup | Kind::Adjustment => 0,
        };
        for l in &t.lines.righe {
            net += sign * to_cents(l.imponibile);
            vat += sign * to_cents(l.iva);
            *vat_by_rate
                .entry(l.aliquota_iva.normalize().to_string())
                .or_insert(0) += sign * to_cents(l.iva);
        }
        if t.kind == Kind::Debit {
            if let Some(id) = &t.request_id {
                richieste.push(RichiestaAddebitata {
                    id: id.clone(),
                    timestamp: t.at,
                    righe: righe(t),
                    imponibile: money(t.lines.imponibile()),
                    iva: money(t.lines.iva()),
                    totale: money(t.lines.totale()),
                    rimborsata: refunded.contains(id.as_str()),
                });
            }
        }
        movimenti.push(Movimento {
            id: t.id,
            timestamp: t.at,
            tipo: tipo(t.kind).to_string(),
            richiesta: t.request_id.clone(),
            giorno: t.day.clone(),
            chiamate: t.calls,
            motivo: t.reason.clone(),
            righe: righe(t),
            importo: money(from_cents(effect)),
            saldo: money(from_cents(balance)),
        });
    }
    let sum = |k: &str| money(from_cents(by_kind.get(k).copied().unwrap_or(0)));
    Ok(Statement {
        cliente: Party {
            id: client.id,
            nome: client.name,
        },
        mese: month.label(),
        dal: month.from,
        al: month.to,
        saldo_iniziale: money(from_cents(opening)),
        saldo_finale: money(from_cents(balance)),
        richieste,
        totali: Totali {
            addebiti: sum("addebito"),
            rimborsi: sum("rimborso"),
            commissioni: sum("commissioni"),
            ricariche: sum("ricarica"),
            rettifiche: sum("rettifica"),
            movimenti: money(from_cents(balance - opening)),
            imponibile: money(from_cents(net)),
            iva: money(from_cents(vat)),
            iva_per_aliquota: vat_by_rate
                .into_iter()
                .map(|(rate, c)| (rate, money(from_cents(c))))
                .collect(),
        },
        movimenti,
        chiamate_da_fatturare: unbilled(state, client_id).await?,
    })
}

/// A field of a CSV line (RFC 4180): quoted when it holds a separator, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn iso(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn euro(m: &Money) -> String {
    format!("{:.2}", m.0)
}

/// The statement as CSV: one line per invoice line (a top-up or an adjustment is one line of its
/// own); a movement's `importo` and `saldo` on its first line only, so the column sums to the
/// month's movements; the opening and closing balances as the first and last lines.
pub fn statement_csv(s: &Statement) -> String {
    let mut out = String::from(
        "movimento,data,tipo,richiesta,descrizione,imponibile,aliquota_iva,iva,totale_riga,importo,saldo\n",
    );
    let _ = writeln!(
        out,
        ",{},saldo_iniziale,,,,,,,,{}",
        iso(s.dal),
        euro(&s.saldo_iniziale)
    );
    for m in &s.movimenti {
        let head = |first: bool| {
            if first {
                (euro(&m.importo), euro(&m.saldo))
            } else {
                (String::new(), String::new())
            }
        };
        if m.righe.is_empty() {
            let (importo, saldo) = head(true);
            let _ = writeln!(
                out,
                "{},{},{},{},{},,,,,{},{}",
                m.id,
                iso(m.timestamp),
                m.tipo,
                m.richiesta.as_deref().unwrap_or(""),
                field(m.motivo.as_deref().unwrap_or("")),
                importo,
                saldo
            );
        }
        for (i, r) in m.righe.iter().enumerate() {
            let (importo, saldo) = head(i == 0);
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{}",
                m.id,
                iso(m.timestamp),
                m.tipo,
                m.richiesta.as_deref().unwrap_or(""),
                field(&r.descrizione),
                euro(&r.imponibile),
                r.aliquota_iva.0.normalize(),
                euro(&r.iva),
                euro(&r.totale),
                importo,
                saldo
            );
        }
    }
    let _ = writeln!(
        out,
        ",{},saldo_finale,,,,,,,,{}",
        iso(s.al),
        euro(&s.saldo_finale)
    );
    out
}

/// A request a provider processed, for its settlement.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Lavorata {
    #[serde(rename = "_id")]
    pub id: String,
    pub cliente: String,
    pub hash_visura: String,
    pub nome_visura: String,
    /// When it was closed as processed.
    pub timestamp: i64,
    pub imponibile: Money,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PerServizio {
    pub hash_visura: String,
    pub nome_visura: String,
    pub numero: u64,
    pub imponibile: Money,
}

/// What a provider processed in a month (live requests closed as "Visura evasa"), for
/// settlement: each request and its taxable amount, and the sums per service.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Settlement {
    pub fornitore: Party,
    pub mese: String,
    pub dal: i64,
    pub al: i64,
    pub richieste: Vec<Lavorata>,
    pub per_servizio: Vec<PerServizio>,
    pub numero: u64,
    pub imponibile: Money,
}

pub async fn settlement(
    state: &AppState,
    provider_id: &str,
    month: Month,
) -> ApiResult<Settlement> {
    let provider = state
        .store
        .get_provider(provider_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such provider"))?;
    let done = state
        .store
        .processed(provider_id, month.from, month.to)
        .await?;
    let mut per: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    let mut total = 0i64;
    let mut richieste = Vec::with_capacity(done.len());
    for r in done {
        let net = r
            .price
            .as_ref()
            .map_or_else(|| to_cents(r.prezzo_totale), |q| to_cents(q.imponibile()));
        total += net;
        let e = per.entry(r.hash_visura.clone()).or_insert((0, 0));
        e.0 += 1;
        e.1 += net;
        richieste.push(Lavorata {
            nome_visura: name(state, &r.hash_visura),
            id: r.id,
            cliente: r.client_id,
            hash_visura: r.hash_visura,
            timestamp: r.closed_at,
            imponibile: money(from_cents(net)),
        });
    }
    Ok(Settlement {
        fornitore: Party {
            id: provider.id,
            nome: provider.name,
        },
        mese: month.label(),
        dal: month.from,
        al: month.to,
        numero: richieste.len() as u64,
        richieste,
        per_servizio: per
            .into_iter()
            .map(|(hash, (n, c))| PerServizio {
                nome_visura: name(state, &hash),
                hash_visura: hash,
                numero: n,
                imponibile: money(from_cents(c)),
            })
            .collect(),
        imponibile: money(from_cents(total)),
    })
}

fn name(state: &AppState, hash: &str) -> String {
    state
        .catalog
        .get(hash)
        .map(|s| s.nome_visura.clone())
        .unwrap_or_default()
}

pub fn settlement_csv(s: &Settlement) -> String {
    let mut out = String::from("richiesta,data,cliente,hash_visura,servizio,imponibile\n");
    for r in &s.richieste {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            r.id,
            iso(r.timestamp),
            r.cliente,
            r.hash_visura,
            field(&r.nome_visura),
            euro(&r.imponibile)
        );
    }
    let _ = writeln!(out, ",,,,totale,{}", euro(&s.imponibile));
    out
}
