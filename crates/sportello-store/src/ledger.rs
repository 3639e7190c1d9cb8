//! The books: an append-only, double-entry ledger in integer cents.
//!
//! Every business event is one [`Transaction`] whose [`Entry`] legs sum to zero. A client's
//! balance is not stored anywhere: it is the sum of the legs on its `wallet:<id>` account.
//! Accounts are strings so that a statement, a check or a person reading the database needs no
//! lookup table:
//!
//! | account | holds |
//! | --- | --- |
//! | `wallet:<client_id>` | what the platform owes the client (its prepaid balance) |
//! | `revenue:services`, `revenue:fees` | what was earned, before VAT |
//! | `vat:payable` | VAT collected, owed to the State |
//! | `funding:topups`, `funding:adjustments` | the other side of money put in or taken out by admins |

use serde::{Deserialize, Serialize};
use sportello_domain::pricing::{to_cents, Quote};

pub const REVENUE_SERVICES: &str = "revenue:services";
pub const REVENUE_FEES: &str = "revenue:fees";
pub const VAT_PAYABLE: &str = "vat:payable";
pub const FUNDING_TOPUPS: &str = "funding:topups";
pub const FUNDING_ADJUSTMENTS: &str = "funding:adjustments";

/// A client's wallet account.
pub fn wallet(client_id: &str) -> String {
    format!("wallet:{client_id}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A live request was submitted: its price leaves the wallet.
    Debit,
    /// It was cancelled before being processed: its price goes back.
    Refund,
    /// An admin recorded money received from the client.
    Topup,
    /// An admin corrected the balance, either way.
    Adjustment,
    /// A day's metered API calls.
    Fees,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Debit,
        Kind::Refund,
        Kind::Topup,
        Kind::Adjustment,
        Kind::Fees,
    ];

    pub fn as_db(self) -> &'static str {
        match self {
            Kind::Debit => "debit",
            Kind::Refund => "refund",
            Kind::Topup => "topup",
            Kind::Adjustment => "adjustment",
            Kind::Fees => "fees",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_db() == s)
    }
}

/// One leg: `amount` cents on `account` (the legs of a transaction sum to zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub account: String,
    pub amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// Assigned by the store; 0 before it is written.
    pub id: i64,
    pub at: i64,
    pub kind: Kind,
    pub client_id: String,
    pub request_id: Option<String>,
    /// For fees: the UTC day (`YYYY-MM-DD`) and the number of calls billed.
    pub day: Option<String>,
    pub calls: Option<i64>,
    pub actor: String,
    pub reason: Option<String>,
    /// The invoice lines billed (a top-up or an adjustment has none).
    pub lines: Quote,
    pub entries: Vec<Entry>,
}

impl Transaction {
    /// What it does to the client's wallet, in cents (negative: the wallet pays).
    pub fn wallet_effect(&self) -> i64 {
        let account = wallet(&self.client_id);
        self.entries
            .iter()
            .filter(|e| e.account == account)
            .map(|e| e.amount)
            .sum()
    }

    /// The legs of charging `lines` to a wallet (`sign` -1) or giving them back (+1): the gross
    /// on the wallet, the net to `revenue`, the VAT to the State.
    fn priced(client_id: &str, lines: &Quote, revenue: &str, sign: i64) -> Vec<Entry> {
        let net = to_cents(lines.imponibile());
        let vat = to_cents(lines.iva());
        vec![
            Entry {
                account: wallet(client_id),
                amount: sign * (net + vat),
            },
            Entry {
                account: revenue.to_string(),
                amount: -sign * net,
            },
            Entry {
                account: VAT_PAYABLE.to_string(),
                amount: -sign * vat,
            },
        ]
    }

    /// A request's price leaving the wallet.
    pub fn debit(request: &str, client_id: &str, lines: Quote, at: i64, actor: &str) -> Self {
        Transaction {
            id: 0,
            at,
            kind: Kind::Debit,
            client_id: client_id.to_string(),
            request_id: Some(request.to_string()),
            day: None,
            calls: None,
            actor: actor.to_string(),
            reason: None,
            entries: Self::priced(client_id, &lines, REVENUE_SERVICES, -1),
            lines,
        }
    }

    /// The same price given back.
    pub fn refund(request: &str, client_id: &str, lines: Quote, at: i64, actor: &str) -> Self {
        Transaction {
            kind: Kind::Refund,
            entries: Self::priced(client_id, &lines, REVENUE_SERVICES, 1),
            ..Self::debit(request, client_id, lines, at, actor)
        }
    }

    /// A day's calls.
    pub fn fees(client_id: &str, day: &str, calls: u64, at: i64) -> Self {
        let lines = Quote {
            righe: vec![sportello_domain::pricing::call_fees(calls)],
        };
        Transaction {
            id: 0,
            at,
            kind: Kind::Fees,
            client_id: client_id.to_string(),
            request_id: None,
            day: Some(day.to_string()),
            calls: Some(i64::try_from(calls).unwrap_or(i64::MAX)),
            actor: "system:fees".to_string(),
            reason: None,
            entries: Self::priced(client_id, &lines, REVENUE_FEES, -1),
            lines,
        }
    }

    /// Money put in (`cents` > 0) or, for an adjustment, in or out.
    pub fn funding(
        kind: Kind,
        client_id: &str,
        cents: i64,
        reason: &str,
        at: i64,
        actor: &str,
    ) -> Self {
        let other = if kind == Kind::Topup {
            FUNDING_TOPUPS
        } else {
            FUNDING_ADJUSTMENTS
        };
        Transaction {
            id: 0,
            at,
            kind,
            client_id: client_id.to_string(),
            request_id: None,
            day: None,
            calls: None,
            actor: actor.to_string(),
            reason: Some(reason.to_string()),
            lines: Quote { righe: Vec::new() },
            entries: vec![
                Entry {
                    account: wallet(client_id),
                    amount: cents,
                },
                Entry {
                    account: other.to_string(),
                    amount: -cents,
                },
            ],
        }
    }
}

/// What [`crate::Store::post`] is asked to enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Funds {
    /// The wallet must hold at least what the transaction takes from it (a request's debit).
    Required,
    /// The wallet may go below zero (fees for calls already served, an admin's correction).
    NotRequired,
}

/// The result of checking the books.
/// An `Idempotency-Key` on a top-up or an adjustment: the key as the caller gave it, and the
/// fingerprint of what it was sent with (which client, which movement, which body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostKey {
    pub key: String,
    pub fingerprint: String,
}

/// A transaction [`crate::Ledger::post`] wrote: its id and the wallet's balance right after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posted {
    pub id: i64,
    pub balance_after: i64,
}

/// What [`crate::Store::post_keyed`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyed {
    /// Posted now: the transaction's id and the wallet's balance right after it.
    Posted { id: i64, balance_after: i64 },
    /// The key was used before with the same fingerprint: nothing posted; the transaction then
    /// posted (with its legs) and the balance right after it.
    Replayed {
        transaction: Box<Transaction>,
        balance_after: i64,
    },
    /// The key was used before with another fingerprint: nothing posted.
    KeyReused,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Check {
    pub transactions: u64,
    pub entries: u64,
    /// Sum of every leg; zero when the books balance.
    pub total: i64,
    /// Problems found, each naming a transaction or request id; empty when all is well.
    pub problems: Vec<String>,
}

impl Check {
    pub fn balanced(&self) -> bool {
        self.total == 0 && self.problems.is_empty()
    }
}
