//! The credit the test harnesses put in the demo wallet. Shared by this crate's harness and the
//! client crate's (which includes this file by path), so both fund it the same way and by the
//! same amount.
#![allow(clippy::unwrap_used)]

use sportello_server::AppState;
use sportello_store::ledger::Kind;

/// What the harness adds to the demo wallet (€10,000 on top of the demo's €100), so that tests
/// submitting many live requests never run out.
pub const HARNESS_CREDIT_CENTS: i64 = 1_000_000;

/// Tops up the demo client (the only client of a fresh installation) with
/// [`HARNESS_CREDIT_CENTS`], through the wallet service as an admin would: one more audit entry.
pub async fn fill_demo_wallet(state: &AppState) {
    let demo_client = state.store.list_clients().await.unwrap()[0].id.clone();
    sportello_server::service::wallet::fund(
        state,
        Kind::Topup,
        &demo_client,
        &sportello_domain::pricing::from_cents(HARNESS_CREDIT_CENTS).to_string(),
        "credito dei test",
        "system:test",
        None,
        None,
    )
    .await
    .unwrap();
}
