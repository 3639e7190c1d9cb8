//! Money at the command line: top-ups and adjustments with a reason, the balance, a statement,
//! the check of the books; and the API calls counted by a server are not lost when it stops.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{stato_di_famiglia, Install, STATO_DI_FAMIGLIA};

#[tokio::test]
async fn an_admin_funds_a_client_and_the_books_balance_after_live_use() {
    let install = Install::new();
    let client = install
        .run(&[
            "client",
            "create",
            "--name",
            "Acme",
            "--email",
            "a@example.com",
        ])
        .ok()
        .to_string();
    let topup = install.run(&[
        "client",
        "topup",
        "--client",
        &client,
        "--amount",
        "100",
        "--reason",
        "bonifico 42",
    ]);
    assert!(topup.ok().contains("balance 100.00 EUR"), "{topup:#?}");
    // A reason is required, amounts are cents at most, the client must exist.
    install
        .run(&["client", "topup", "--client", &client, "--amount", "5"])
        .failed();
    let cents = install.run(&[
        "client", "topup", "--client", &client, "--amount", "1.234", "--reason", "x",
    ]);
    assert!(cents.failed().contains("importo"), "{cents:#?}");
    let nobody = install.run(&[
        "client",
        "topup",
        "--client",
        "cli_nobody",
        "--amount",
        "1",
        "--reason",
        "x",
    ]);
    assert!(nobody.failed().contains("no such client"), "{nobody:#?}");
    let adjust = install.run(&[
        "client", "adjust", "--client", &client, "--amount", "-10", "--reason", "storno",
    ]);
    assert!(adjust.ok().contains("balance 90.00 EUR"), "{adjust:#?}");
    assert!(install
        .run(&["ledger", "verify"])
        .ok()
        .contains("ledger balanced"));

    let live = install
        .run(&["token", "create", "--client", &client, "--live"])
        .ok()
        .to_string();
    let server = install.start().await;
    let created = server
        .post(
            "/richiesta",
            &live,
            serde_json::json!({"hash_visura": STATO_DI_FAMIGLIA, "json_visura": stato_di_famiglia()}),
        )
        .await;
    assert_eq!(created.ok()["prezzo"]["totale"], serde_json::json!(48.8));
    let conto = server.get("/conto", &live).await;
    assert_eq!(conto.ok()["saldo"], serde_json::json!(41.2));
    // Stopped before the flush interval: the two calls are written at shutdown.
    server.terminate();

    let balance = install.run(&["client", "balance", &client]);
    let out = balance.ok();
    assert!(out.contains("balance: 41.20 EUR"), "{balance:#?}");
    assert!(
        out.contains(": 2"),
        "the calls counted survive a stop: {balance:#?}"
    );
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m"])
        .output()
        .unwrap();
    let month = String::from_utf8(date.stdout).unwrap().trim().to_string();
    let csv = install.run(&[
        "client",
        "statement",
        "--client",
        &client,
        "--month",
        &month,
        "--csv",
    ]);
    let last = csv.ok().lines().last().unwrap().to_string();
    assert!(
        last.contains("saldo_finale") && last.ends_with(",41.20"),
        "{csv:#?}"
    );
    assert!(install
        .run(&["ledger", "verify"])
        .ok()
        .contains("ledger balanced"));
}
