//! Money, as a client and an admin see it: quotes, the debit of a live request, refunds,
//! insufficient credit, per-call fees, statements that reconcile with the ledger to the cent.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sportello_server::service::fees;
use sportello_store::ledger::Kind;

/// 10 March 2026, 12:00 UTC: a fixed day in a fixed month.
const MARCH_10: i64 = 1_773_144_000;
const DAY: i64 = 86_400;

/// The balance in cents, read by the client itself (`GET /conto` is metered: a live call).
async fn balance(app: &TestApp, client_id: &str) -> i64 {
    app.state.store.balance(client_id, None).await.unwrap()
}

fn cents(v: &Value) -> i64 {
    // Money travels as a JSON number; two decimals at most.
    (v.as_f64().unwrap() * 100.0).round() as i64
}

/// VAT at 22 % on `net` cents, rounded half-up: the oracle, in integers.
fn vat22(net: i64) -> i64 {
    (net * 22 + 50) / 100
}

async fn submit(app: &TestApp, token: &str, hash: &str, opzioni: &[&str]) -> Answer {
    let visura = app.get(&format!("/visure/{hash}")).await;
    let opts: serde_json::Map<String, Value> = opzioni
        .iter()
        .map(|o| (o.to_string(), json!(true)))
        .collect();
    app.call(
        Method::POST,
        "/richiesta",
        token,
        Some(json!({
            "hash_visura": hash,
            "json_visura": valid_json_visura(visura.assert_ok()),
            "opzioni": opts,
        })),
    )
    .await
}

async fn assert_books_balance(app: &TestApp) {
    let check = app.state.store.check_ledger().await.unwrap();
    assert!(check.balanced(), "{check:?}");
}

#[tokio::test]
async fn every_seed_service_with_and_without_each_option_debits_price_options_and_vat() {
    let app = TestApp::spawn_with(sportello_server::Limits {
        rate_per_token_per_minute: 0,
        rate_per_ip_per_minute: 0,
        ..Default::default()
    })
    .await;
    let (client, token) = app.funded_client("ricco", "5000").await;
    let catalog = app.state.catalog.clone();
    for service in catalog.services() {
        let options: Vec<&str> = service.opzioni.iter().map(|o| o.nome.as_str()).collect();
        let mut choices: Vec<Vec<&str>> = vec![vec![]];
        choices.extend(options.iter().map(|o| vec![*o]));
        if options.len() > 1 {
            choices.push(options.clone());
        }
        for chosen in choices {
            // The oracle: each line in cents, its VAT at 22 % rounded half-up.
            let mut nets = vec![(service.prezzo_visura * rust_decimal::Decimal::ONE_HUNDRED)
                .try_into()
                .unwrap()];
            for name in &chosen {
                let o = service.option(name).unwrap();
                nets.push(
                    (o.prezzo * rust_decimal::Decimal::ONE_HUNDRED)
                        .try_into()
                        .unwrap(),
                );
            }
            let expected: i64 = nets.iter().map(|n: &i64| n + vat22(*n)).sum();
            let before = balance(&app, &client).await;
            let answer = submit(&app, &token, &service.hash_visura, &chosen).await;
            let r = answer.assert_ok();
            let case = format!("{} {chosen:?}", service.nome_visura);
            assert_eq!(before - balance(&app, &client).await, expected, "{case}");
            assert_eq!(cents(&r["prezzo"]["totale"]), expected, "{case}");
            assert_eq!(
                cents(&r["prezzo"]["imponibile"]),
                nets.iter().sum::<i64>(),
                "{case}"
            );
            assert_eq!(r["prezzo"]["imponibile"], r["prezzo_totale"], "{case}");
            assert_eq!(r["prezzo"]["righe"].as_array().unwrap().len(), nets.len());
            assert_eq!(r["live"], true);
        }
    }
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn the_quote_shows_each_line_with_its_vat_without_creating_anything() {
    let app = TestApp::spawn().await;
    let q = app
        .get(&format!(
            "/visure/{ASSEGNO}/preventivo?opzioni=opzione_0,opzione_1"
        ))
        .await;
    let q = q.assert_ok();
    assert_eq!(q["valuta"], "EUR");
    let lines: Vec<(String, f64, f64, f64)> = q["righe"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["tipo"].as_str().unwrap().to_string(),
                l["imponibile"].as_f64().unwrap(),
                l["iva"].as_f64().unwrap(),
                l["aliquota_iva"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            ("servizio".into(), 19.0, 4.18, 22.0),
            ("opzione".into(), 4.0, 0.88, 22.0),
            ("opzione".into(), 10.0, 2.2, 22.0),
        ]
    );
    assert_eq!(
        (q["imponibile"].clone(), q["iva"].clone()),
        (json!(33), json!(7.26))
    );
    assert_eq!(q["totale"], json!(40.26));
    // Without options: the service alone; with an unknown one: 400 naming it.
    let plain = app.get(&format!("/visure/{FAMIGLIA}/preventivo")).await;
    assert_eq!(plain.assert_ok()["totale"], json!(48.8));
    let bad = app
        .get(&format!("/visure/{FAMIGLIA}/preventivo?opzioni=opzione_1"))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_code(), 912);
    assert_eq!(bad.failing_fields(), vec!["opzioni.opzione_1"]);
    let unknown = app
        .get("/visure/00000000000000000000000000000000/preventivo")
        .await;
    assert_eq!(unknown.error_code(), 200);
    // Nothing was created.
    assert_eq!(
        app.get("/richiesta")
            .await
            .assert_ok()
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn insufficient_credit_is_refused_with_the_missing_amount_and_nothing_created() {
    let app = TestApp::spawn().await;
    let (client, token) = app.funded_client("povero", "30").await;
    let answer = submit(&app, &token, FAMIGLIA, &[]).await;
    assert_eq!(answer.status, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(answer.error_code(), 211);
    assert_eq!(
        answer.body["message"],
        "Insufficient Credit in Wallet: 30.00"
    );
    assert_eq!(answer.body["credito"]["saldo"], json!(30));
    assert_eq!(answer.body["credito"]["richiesto"], json!(48.8));
    assert_eq!(answer.body["credito"]["mancante"], json!(18.8));
    assert_eq!(answer.failing_fields(), vec!["wallet"]);
    assert_eq!(answer.body["details"][0]["codice"], "insufficient_credit");
    // Nothing created, nothing taken, no file left behind.
    let list = app.call(Method::GET, "/richiesta", &token, None).await;
    assert_eq!(list.assert_ok().as_array().unwrap().len(), 0);
    assert_eq!(balance(&app, &client).await, 3000);
    let files = walk(&app.dir.path().join("files"));
    assert!(files.is_empty(), "{files:?}");
    // A test token of the same client is not charged at all.
    let test_token = app.token_for(&client, None).await;
    submit(&app, &test_token, FAMIGLIA, &[]).await.assert_ok();
    assert_eq!(balance(&app, &client).await, 3000);
    assert_books_balance(&app).await;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let p = e.path();
            if p.is_dir() {
                walk(&p)
            } else {
                vec![p]
            }
        })
        .collect()
}

#[tokio::test]
async fn a_draft_is_debited_when_submitted_and_stays_a_draft_without_credit() {
    let app = TestApp::spawn().await;
    let (client, token) = app.funded_client("bozze", "40").await;
    let visura = app.get(&format!("/visure/{FAMIGLIA}")).await;
    let draft = app
        .call(
            Method::POST,
            "/richiesta",
            &token,
            Some(json!({"hash_visura": FAMIGLIA, "state": 0, "json_visura": valid_json_visura(visura.assert_ok())})),
        )
        .await;
    let id = draft.assert_ok()["_id"].as_str().unwrap().to_string();
    assert_eq!(balance(&app, &client).await, 4000, "a draft costs nothing");
    let refused = app
        .call(
            Method::PUT,
            &format!("/richiesta/{id}"),
            &token,
            Some(json!({"state": 1})),
        )
        .await;
    assert_eq!(refused.status, 402);
    assert_eq!(refused.error_code(), 211);
    let still = app
        .call(Method::GET, &format!("/richiesta/{id}"), &token, None)
        .await;
    assert_eq!(still.assert_ok()["state"], 0);
    // Topped up, the same PUT goes through and is debited once.
    sportello_server::service::wallet::fund(
        &app.state,
        Kind::Topup,
        &client,
        "10",
        "integrazione",
        "admin:test",
        None,
        None,
    )
    .await
    .unwrap();
    let submitted = app
        .call(
            Method::PUT,
            &format!("/richiesta/{id}"),
            &token,
            Some(json!({"state": 1})),
        )
        .await;
    assert_eq!(submitted.assert_ok()["stato_richiesta"], "In erogazione");
    assert_eq!(balance(&app, &client).await, 5000 - 4880);
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn cancelling_before_processing_refunds_the_whole_price() {
    let app = TestApp::spawn().await;
    let (client, token) = app.funded_client("ripensamenti", "200").await;
    // The client cancels an untaken request.
    let id = submit(&app, &token, ASSEGNO, &["opzione_0"])
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        balance(&app, &client).await,
        20_000 - (1900 + 418 + 400 + 88)
    );
    app.call(
        Method::DELETE,
        &format!("/richiesta/{id}"),
        &token,
        Some(json!({"motivo": "errore"})),
    )
    .await
    .assert_ok();
    assert_eq!(balance(&app, &client).await, 20_000);
    // The operator cancels one it took: refunded too, in the same transaction as the cancel.
    let id = submit(&app, &token, FAMIGLIA, &[]).await.assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.claim(&id).await;
    assert_eq!(balance(&app, &client).await, 20_000 - 4880);
    app.op(
        Method::POST,
        &format!("/operator/requests/{id}/cancel"),
        Some(json!({"motivo": "documenti mancanti"})),
    )
    .await
    .assert_ok();
    assert_eq!(balance(&app, &client).await, 20_000);
    // A processed request is final: no refund is possible, the money stays earned.
    let id = submit(&app, &token, FAMIGLIA, &[]).await.assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.work_to_the_end(&id, &[("certificato.pdf", pdf("x"))])
        .await;
    let late = app
        .call(Method::DELETE, &format!("/richiesta/{id}"), &token, None)
        .await;
    assert_eq!(late.status, 409);
    assert_eq!(balance(&app, &client).await, 20_000 - 4880);
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn two_parallel_submissions_on_credit_for_one_create_exactly_one_request() {
    for round in 0..3 {
        let app = TestApp::spawn().await;
        // Exactly one family certificate (48.80) and a bit.
        let (client, token) = app.funded_client(&format!("gara{round}"), "50").await;
        let visura = app.get(&format!("/visure/{FAMIGLIA}")).await;
        let body =
            json!({"hash_visura": FAMIGLIA, "json_visura": valid_json_visura(visura.assert_ok())});
        let send = |b: Value| {
            app.http
                .post(format!("{}/richiesta", app.base))
                .bearer_auth(&token)
                .json(&b)
                .send()
        };
        let (a, b) = tokio::join!(send(body.clone()), send(body.clone()));
        let mut statuses = vec![a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, vec![200, 402], "round {round}");
        let list = app.call(Method::GET, "/richiesta", &token, None).await;
        assert_eq!(list.assert_ok().as_array().unwrap().len(), 1);
        assert_eq!(balance(&app, &client).await, 5000 - 4880);
        assert_books_balance(&app).await;
    }
}

#[tokio::test]
async fn test_tokens_never_touch_money() {
    let app = TestApp::spawn().await;
    app.clock.set(MARCH_10);
    let demo = app.state.store.list_clients().await.unwrap()[0].id.clone();
    let before = balance(&app, &demo).await;
    let transactions = app
        .state
        .store
        .transactions(Some(&demo), 0, i64::MAX)
        .await
        .unwrap()
        .len();
    let test = &app.test_token;
    let service = app
        .call(Method::GET, &format!("/visure/{FAMIGLIA}"), test, None)
        .await;
    let body = json!({"hash_visura": FAMIGLIA,
                      "json_visura": valid_json_visura(service.assert_ok())});
    let id = app
        .call(Method::POST, "/richiesta", test, Some(body.clone()))
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.call(Method::DELETE, &format!("/richiesta/{id}"), test, None)
        .await
        .assert_ok();
    // Worked to the end by the sandbox: still nothing to pay.
    let done = app
        .call(Method::POST, "/richiesta", test, Some(body))
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.clock.advance(60);
    assert_eq!(
        sportello_server::service::sandbox::work(&app.state)
            .await
            .unwrap(),
        vec![sportello_server::service::sandbox::Worked::Processed(done)]
    );
    for _ in 0..20 {
        app.call(Method::GET, "/visure", test, None)
            .await
            .assert_ok();
    }
    app.clock.advance(DAY);
    assert!(fees::flush(&app.state).await.unwrap().is_empty());
    assert_eq!(balance(&app, &demo).await, before);
    let statement = app
        .call(Method::GET, "/conto/estratti/2026-03", test, None)
        .await;
    assert_eq!(statement.status, StatusCode::FORBIDDEN);
    assert_eq!(statement.error_code(), 904);
    let after = app
        .state
        .store
        .transactions(Some(&demo), 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(after.len(), transactions, "no new transaction: {after:?}");
}

#[tokio::test]
async fn live_api_calls_are_billed_as_one_line_per_client_and_day() {
    let app = TestApp::spawn_with(sportello_server::Limits {
        rate_per_token_per_minute: 0,
        rate_per_ip_per_minute: 0,
        ..Default::default()
    })
    .await;
    app.clock.set(MARCH_10);
    let (client, token) = app.funded_client("chiacchierone", "10").await;
    let (other, other_token) = app.funded_client("altro", "10").await;
    for _ in 0..1234 {
        app.call(Method::GET, "/visure", &token, None).await;
    }
    // Refused calls are authenticated calls too; unauthenticated ones are nobody's.
    app.call(Method::GET, "/richiesta/zzz", &token, None).await;
    app.call(Method::GET, "/visure", "spt_live_nonexistent", None)
        .await;
    for _ in 0..5 {
        app.call(Method::GET, "/visure", &other_token, None).await;
    }
    // A flush during the day writes the counters but bills nothing yet.
    assert!(fees::flush(&app.state).await.unwrap().is_empty());
    assert_eq!(balance(&app, &client).await, 1000);
    let conto = app.call(Method::GET, "/conto", &token, None).await;
    // 1,235 counted and flushed, plus this very call, still in memory.
    assert_eq!(
        conto.assert_ok()["chiamate_da_fatturare"],
        json!([{"giorno": "2026-03-10", "chiamate": 1236}])
    );
    // More calls, then the day ends: one line per client for the whole day.
    app.call(Method::GET, "/visure", &token, None).await;
    app.clock.advance(DAY);
    let billed = fees::flush(&app.state).await.unwrap();
    assert_eq!(billed.len(), 2, "{billed:?}");
    let mine = billed.iter().find(|t| t.client_id == client).unwrap();
    assert_eq!(mine.calls, Some(1237));
    assert_eq!(mine.day.as_deref(), Some("2026-03-10"));
    // 1,237 × €0.001 = €1.237 → 1.24; VAT 22 % of 1.24 = 0.2728 → 0.27.
    assert_eq!(balance(&app, &client).await, 1000 - 124 - 27);
    // 5 calls: €0.005 → 0.01, VAT 0.0022 → 0.00.
    assert_eq!(balance(&app, &other).await, 1000 - 1);
    // A second flush bills nothing twice.
    assert!(fees::flush(&app.state).await.unwrap().is_empty());
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn a_months_statement_reconciles_with_the_ledger_to_the_cent() {
    let app = TestApp::spawn_with(sportello_server::Limits {
        rate_per_token_per_minute: 0,
        rate_per_ip_per_minute: 0,
        ..Default::default()
    })
    .await;
    // February: a top-up (the opening balance of March).
    app.clock.set(MARCH_10 - 20 * DAY);
    let (client, token) = app.funded_client("contabile", "150").await;
    app.clock.set(MARCH_10);
    let kept = submit(&app, &token, ASSEGNO, &["opzione_1"])
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    let cancelled = submit(&app, &token, FAMIGLIA, &["opzione_0"])
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.call(
        Method::DELETE,
        &format!("/richiesta/{cancelled}"),
        &token,
        None,
    )
    .await
    .assert_ok();
    let admin = app.admin_token().await;
    let adjusted = app
        .call(
            Method::POST,
            &format!("/admin/clients/{client}/adjustment"),
            &admin,
            Some(json!({"importo": "-2.50", "motivo": "storno commissione bancaria"})),
        )
        .await;
    assert_eq!(adjusted.assert_ok()["importo"], json!(-2.5));
    app.clock.advance(DAY);
    fees::flush(&app.state).await.unwrap();
    // April's activity is not March's.
    app.clock.set(MARCH_10 + 25 * DAY);
    submit(&app, &token, FAMIGLIA, &[]).await.assert_ok();

    let s = app
        .call(Method::GET, "/conto/estratti/2026-03", &token, None)
        .await;
    let s = s.assert_ok().clone();
    assert_eq!(s["mese"], "2026-03");
    assert_eq!(cents(&s["saldo_iniziale"]), 15_000);
    let debits: Vec<&str> = s["richieste"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["_id"].as_str().unwrap())
        .collect();
    assert_eq!(debits, vec![kept.as_str(), cancelled.as_str()]);
    assert_eq!(s["richieste"][0]["rimborsata"], false);
    assert_eq!(s["richieste"][1]["rimborsata"], true);
    assert_eq!(s["richieste"][0]["righe"].as_array().unwrap().len(), 2);
    let kinds: Vec<&str> = s["movimenti"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["tipo"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "addebito",
            "addebito",
            "rimborso",
            "rettifica",
            "commissioni"
        ]
    );
    // Opening + movements = closing = the ledger's balance at the end of March, to the cent.
    let moved: i64 = s["movimenti"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| cents(&m["importo"]))
        .sum();
    assert_eq!(cents(&s["totali"]["movimenti"]), moved);
    assert_eq!(
        cents(&s["saldo_iniziale"]) + moved,
        cents(&s["saldo_finale"])
    );
    let april_first = MARCH_10 + 22 * DAY - 12 * 3600;
    assert_eq!(
        cents(&s["saldo_finale"]),
        app.state
            .store
            .balance(&client, Some(april_first))
            .await
            .unwrap()
    );
    // Invoiced: Assegno + assistenza (29.00 + 6.38), the fees of the day's calls; the family
    // certificate was refunded, so it nets out.
    let fees_line = s["movimenti"][4]["righe"][0].clone();
    assert_eq!(
        cents(&s["totali"]["imponibile"]),
        2900 + cents(&fees_line["imponibile"])
    );
    assert_eq!(
        cents(&s["totali"]["iva"]),
        418 + 220 + cents(&fees_line["iva"])
    );
    assert_eq!(
        cents(&s["totali"]["addebiti"]),
        -(1900 + 418 + 1000 + 220) - (4000 + 880 + 400 + 88)
    );
    assert_eq!(cents(&s["totali"]["rimborsi"]), 4000 + 880 + 400 + 88);
    assert_eq!(cents(&s["totali"]["rettifiche"]), -250);

    // The admin reads the same statement; the CSV says the same to the cent.
    let admin_view = app
        .call(
            Method::GET,
            &format!("/admin/clients/{client}/statements/2026-03"),
            &admin,
            None,
        )
        .await;
    assert_eq!(admin_view.assert_ok()["saldo_finale"], s["saldo_finale"]);
    let csv = app
        .http
        .get(format!("{}/conto/estratti/2026-03?formato=csv", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0][9], "importo");
    assert_eq!(rows[1][2], "saldo_iniziale");
    assert_eq!(rows[1][10], "150.00");
    let csv_moved: i64 = rows[2..rows.len() - 1]
        .iter()
        .filter(|r| !r[9].is_empty())
        .map(|r| (r[9].parse::<f64>().unwrap() * 100.0).round() as i64)
        .sum();
    assert_eq!(csv_moved, moved);
    let last = rows.last().unwrap();
    assert_eq!(last[2], "saldo_finale");
    assert_eq!(
        (last[10].parse::<f64>().unwrap() * 100.0).round() as i64,
        cents(&s["saldo_finale"])
    );
    // Bad months and formats are clear errors.
    let bad = app
        .call(Method::GET, "/conto/estratti/2026-13", &token, None)
        .await;
    assert_eq!((bad.status.as_u16(), bad.error_code()), (400, 915));
    let bad = app
        .call(
            Method::GET,
            "/conto/estratti/2026-03?formato=xls",
            &token,
            None,
        )
        .await;
    assert_eq!((bad.status.as_u16(), bad.error_code()), (400, 912));
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn admins_top_up_and_adjust_with_a_reason_recorded_in_the_audit_trail() {
    let app = TestApp::spawn().await;
    let (client, _) = app.funded_client("cliente", "0").await;
    let admin = app.admin_token().await;
    let path = format!("/admin/clients/{client}/topup");
    let done = app
        .call(
            Method::POST,
            &path,
            &admin,
            Some(json!({"importo": 99.9, "motivo": "bonifico 2026/17"})),
        )
        .await;
    let m = done.assert_ok();
    assert_eq!(
        (m["importo"].clone(), m["saldo"].clone()),
        (json!(99.9), json!(99.9))
    );
    for (body, campo) in [
        (json!({"importo": "10"}), "motivo"),
        (json!({"importo": "10", "motivo": "  "}), "motivo"),
        (json!({"motivo": "x"}), "importo"),
        (json!({"importo": "1.234", "motivo": "x"}), "importo"),
        (json!({"importo": "-5", "motivo": "x"}), "importo"),
        (json!({"importo": "dieci", "motivo": "x"}), "importo"),
    ] {
        let refused = app
            .call(Method::POST, &path, &admin, Some(body.clone()))
            .await;
        assert_eq!(refused.status, 400, "{body}");
        assert_eq!(refused.error_code(), 915, "{body}");
        assert_eq!(refused.failing_fields(), vec![campo], "{body}");
    }
    let adjusted = app
        .call(
            Method::POST,
            &format!("/admin/clients/{client}/adjustment"),
            &admin,
            Some(json!({"importo": "-9.90", "motivo": "doppio accredito"})),
        )
        .await;
    assert_eq!(adjusted.assert_ok()["saldo"], json!(90));
    let wallet = app
        .call(
            Method::GET,
            &format!("/admin/clients/{client}/wallet"),
            &admin,
            None,
        )
        .await;
    assert_eq!(wallet.assert_ok()["saldo"], json!(90));
    let missing = app
        .call(
            Method::POST,
            "/admin/clients/cli_nobody/topup",
            &admin,
            Some(json!({"importo": "1", "motivo": "x"})),
        )
        .await;
    assert_eq!((missing.status.as_u16(), missing.error_code()), (404, 914));
    let audit = app.state.store.audit_entries(0, 100, None).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.event.action.as_str()).collect();
    assert!(actions.contains(&"wallet_topup"), "{actions:?}");
    assert!(actions.contains(&"wallet_adjustment"), "{actions:?}");
    let verify = app
        .call(Method::GET, "/admin/ledger/verify", &admin, None)
        .await;
    let v = verify.assert_ok();
    assert_eq!(v["in_pareggio"], true, "{v}");
    assert_eq!(v["totale"], json!(0));
}

#[tokio::test]
async fn the_ledger_is_append_only_and_the_check_finds_a_forged_entry() {
    let app = TestApp::spawn().await;
    let (_, token) = app.funded_client("integro", "100").await;
    submit(&app, &token, FAMIGLIA, &[]).await.assert_ok();
    assert_books_balance(&app).await;
    for sql in [
        "UPDATE ledger_entries SET amount = amount + 1",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_transactions SET at = 0",
        "DELETE FROM ledger_transactions",
    ] {
        let e = app.db.execute(sql).await.unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    }
    // Someone bypasses the store and writes a leg of their own: the check says so.
    app.db
        .execute(
            "INSERT INTO ledger_entries (transaction_id, account, amount) VALUES (1, 'wallet:x', 5)",
        )
        .await
        .unwrap();
    let check = app.state.store.check_ledger().await.unwrap();
    assert!(!check.balanced());
    assert_eq!(check.total, 5);
    assert!(check.problems[0].starts_with("transaction 1"), "{check:?}");
}

#[tokio::test]
async fn a_providers_settlement_lists_what_it_processed() {
    let app = TestApp::spawn().await;
    app.clock.set(MARCH_10);
    let (_, token) = app.funded_client("lavori", "300").await;
    let done = submit(&app, &token, ASSEGNO, &["opzione_0"])
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.work_to_the_end(&done, &[("esito.pdf", pdf("a"))]).await;
    let done2 = submit(&app, &token, FAMIGLIA, &[]).await.assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.work_to_the_end(&done2, &[("esito.pdf", pdf("b"))])
        .await;
    // Open and cancelled requests are not settled; nor are test ones (the sandbox's).
    submit(&app, &token, FAMIGLIA, &[]).await.assert_ok();
    submit(&app, &app.test_token, FAMIGLIA, &[])
        .await
        .assert_ok();
    app.clock.advance(60);
    assert_eq!(
        sportello_server::service::sandbox::work(&app.state)
            .await
            .unwrap()
            .len(),
        1
    );
    let provider = app.state.store.list_providers().await.unwrap()[0]
        .id
        .clone();
    let admin = app.admin_token().await;
    let s = app
        .call(
            Method::GET,
            &format!("/admin/providers/{provider}/settlements/2026-03"),
            &admin,
            None,
        )
        .await;
    let s = s.assert_ok();
    assert_eq!(s["numero"], 2);
    assert_eq!(s["imponibile"], json!(63));
    let mut ids: Vec<&str> = s["richieste"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["_id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut expected = vec![done.as_str(), done2.as_str()];
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(s["per_servizio"].as_array().unwrap().len(), 2);
    let csv = app
        .http
        .get(format!(
            "{}/admin/providers/{provider}/settlements/2026-03?formato=csv",
            app.base
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.ends_with(",,,,totale,63.00\n"), "{csv}");
    let other_month = app
        .call(
            Method::GET,
            &format!("/admin/providers/{provider}/settlements/2026-04"),
            &admin,
            None,
        )
        .await;
    assert_eq!(other_month.assert_ok()["numero"], 0);
}

/// What a random sequence may do.
#[derive(Debug, Clone)]
enum Op {
    TopUp(u32),
    Adjust(i32),
    Submit { famiglia: bool, urgenza: bool },
    CancelLast,
    Calls(u16),
    NextDay,
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        (1u32..20_000).prop_map(Op::TopUp),
        (-5_000i32..5_000).prop_map(Op::Adjust),
        (any::<bool>(), any::<bool>())
            .prop_map(|(famiglia, urgenza)| Op::Submit { famiglia, urgenza }),
        Just(Op::CancelLast),
        (1u16..40).prop_map(Op::Calls),
        Just(Op::NextDay),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config { cases: 12, ..Default::default() })]

    /// Whatever happens, the balance the client sees, the sum of its wallet's legs, the model
    /// kept by this test and the statement's closing balance are the same number of cents, and
    /// the books balance.
    #[test]
    fn totals_never_drift(ops in proptest::collection::vec(op(), 1..14)) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let app = TestApp::spawn_with(sportello_server::Limits {
                rate_per_token_per_minute: 0,
                rate_per_ip_per_minute: 0,
                ..Default::default()
            })
            .await;
            app.clock.set(MARCH_10);
            let (client, token) = app.funded_client("caso", "0").await;
            let mut model: i64 = 0;
            let mut calls_today: u64 = 0;
            let mut open: Vec<(String, i64)> = Vec::new();
            for op in ops {
                match op {
                    Op::TopUp(c) => {
                        sportello_server::service::wallet::fund(&app.state, Kind::Topup, &client,
                            &format!("{}.{:02}", c / 100, c % 100), "ricarica", "admin:test", None, None).await.unwrap();
                        model += i64::from(c);
                    }
                    Op::Adjust(c) => {
                        if c == 0 { continue; }
                        let s = if c < 0 { "-" } else { "" };
                        let a = c.unsigned_abs();
                        sportello_server::service::wallet::fund(&app.state, Kind::Adjustment, &client,
                            &format!("{s}{}.{:02}", a / 100, a % 100), "rettifica", "admin:test", None, None).await.unwrap();
                        model += i64::from(c);
                    }
                    Op::Submit { famiglia, urgenza } => {
                        let (hash, base) = if famiglia { (FAMIGLIA, 4000) } else { (ASSEGNO, 1900) };
                        let price = base + vat22(base) + if urgenza { 400 + 88 } else { 0 };
                        let opts: &[&str] = if urgenza { &["opzione_0"] } else { &[] };
                        let answer = submit(&app, &token, hash, opts).await;
                        calls_today += 1;
                        if model >= price {
                            let id = answer.assert_ok()["_id"].as_str().unwrap().to_string();
                            model -= price;
                            open.push((id, price));
                        } else {
                            assert_eq!(answer.status, 402, "{:#}", answer.body);
                        }
                    }
                    Op::CancelLast => {
                        if let Some((id, price)) = open.pop() {
                            app.call(Method::DELETE, &format!("/richiesta/{id}"), &token, None).await.assert_ok();
                            calls_today += 1;
                            model += price;
                        }
                    }
                    Op::Calls(n) => {
                        for _ in 0..n {
                            app.call(Method::GET, "/visure", &token, None).await;
                        }
                        calls_today += u64::from(n);
                    }
                    Op::NextDay => {
                        app.clock.advance(DAY);
                        fees::flush(&app.state).await.unwrap();
                        // calls × 0.1 cent, rounded half-up to the cent, plus its VAT.
                        let net = (i64::try_from(calls_today).unwrap() + 5) / 10;
                        model -= net + vat22(net);
                        calls_today = 0;
                    }
                }
                assert_eq!(app.state.store.balance(&client, None).await.unwrap(), model);
            }
            let check = app.state.store.check_ledger().await.unwrap();
            assert!(check.balanced(), "{check:?}");
            let statement = sportello_server::service::statements::statement(
                &app.state,
                &client,
                sportello_server::service::statements::Month::parse("2026-03").unwrap(),
            )
            .await
            .unwrap();
            let closing = sportello_domain::pricing::to_cents(statement.saldo_finale.0);
            assert_eq!(closing, model);
            let moved: i64 = statement.movimenti.iter().map(|m| sportello_domain::pricing::to_cents(m.importo.0)).sum();
            assert_eq!(sportello_domain::pricing::to_cents(statement.saldo_iniziale.0) + moved, closing);
        });
    }
}

#[tokio::test]
async fn two_drafts_submitted_at_once_on_credit_for_one_submit_exactly_one() {
    // Drafts have no early check: this race is decided inside the store's transaction alone.
    for round in 0..3 {
        let app = TestApp::spawn().await;
        let (client, token) = app.funded_client(&format!("bozze{round}"), "50").await;
        let visura = app.get(&format!("/visure/{FAMIGLIA}")).await;
        let values = valid_json_visura(visura.assert_ok());
        let mut drafts = Vec::new();
        for _ in 0..2 {
            let d = app
                .call(
                    Method::POST,
                    "/richiesta",
                    &token,
                    Some(json!({"hash_visura": FAMIGLIA, "state": 0, "json_visura": values})),
                )
                .await;
            drafts.push(d.assert_ok()["_id"].as_str().unwrap().to_string());
        }
        let put = |id: &str| {
            app.http
                .put(format!("{}/richiesta/{id}", app.base))
                .bearer_auth(&token)
                .json(&json!({"state": 1}))
                .send()
        };
        let (a, b) = tokio::join!(put(&drafts[0]), put(&drafts[1]));
        let mut statuses = vec![a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, vec![200, 402], "round {round}");
        assert_eq!(balance(&app, &client).await, 5000 - 4880);
        assert_books_balance(&app).await;
    }
}

#[tokio::test]
async fn the_store_refuses_a_request_whose_debit_the_wallet_cannot_pay() {
    use sportello_store::crypto::DataKey;
    use sportello_store::ledger::Transaction;
    use sportello_store::{ids, HistoryEntry, NewRequest, StoreError};
    let app = TestApp::spawn().await;
    let (client, _) = app.funded_client("diretto", "10").await;
    // A real record to copy, made live and moved to the funded client.
    let template = app.submit_valid(FAMIGLIA).await;
    let mut r = app
        .state
        .store
        .get_request(&template)
        .await
        .unwrap()
        .unwrap();
    let now = app.state.clock.now();
    r.id = ids::request_id(now + 1);
    r.client_id = client.clone();
    r.live = true;
    let history = HistoryEntry {
        request_id: r.id.clone(),
        at: now,
        status: r.status,
        action: "submit".into(),
        actor: "test".into(),
        note: None,
        source: None,
    };
    let debit = Transaction::debit(&r.id, &client, r.price.clone().unwrap(), now, "test");
    let refused = app
        .state
        .store
        .insert_request(NewRequest {
            request: &r,
            key: &DataKey::generate(),
            files: &[],
            history: &history,
            idempotency: None,
            debit: Some(&debit),
            subjects: &[],
        })
        .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::InsufficientCredit {
                balance: 1000,
                required: 4880
            })
        ),
        "{refused:?}"
    );
    assert!(app.state.store.get_request(&r.id).await.unwrap().is_none());
    assert!(app
        .state
        .store
        .history(&r.id)
        .await
        .unwrap_or_default()
        .is_empty());
    assert_eq!(balance(&app, &client).await, 1000);
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn calls_counted_before_midnight_but_flushed_after_their_day_was_billed_go_on_todays_line() {
    let app = TestApp::spawn().await;
    app.clock.set(MARCH_10);
    let (client, token) = app.funded_client("notturno", "10").await;
    for _ in 0..10 {
        app.call(Method::GET, "/visure", &token, None).await;
    }
    app.clock.advance(DAY);
    assert_eq!(fees::flush(&app.state).await.unwrap().len(), 1);
    // A call that read the clock on the 10th reaches the meter after that flush.
    for _ in 0..7 {
        app.state.meter.record(&client, "2026-03-10");
    }
    assert!(fees::flush(&app.state).await.unwrap().is_empty());
    let conto = app.call(Method::GET, "/conto", &token, None).await;
    assert_eq!(
        conto.assert_ok()["chiamate_da_fatturare"],
        json!([{"giorno": "2026-03-11", "chiamate": 8}])
    );
    app.clock.advance(DAY);
    let billed = fees::flush(&app.state).await.unwrap();
    assert_eq!(billed.len(), 1);
    assert_eq!(
        (billed[0].day.as_deref(), billed[0].calls),
        (Some("2026-03-11"), Some(8))
    );
    let days: Vec<Option<String>> = app
        .state
        .store
        .transactions(Some(&client), 0, i64::MAX)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.kind == Kind::Fees)
        .map(|t| t.day)
        .collect();
    assert_eq!(
        days,
        vec![Some("2026-03-10".into()), Some("2026-03-11".into())]
    );
    assert_books_balance(&app).await;
}

#[tokio::test]
async fn the_kept_wallet_balance_follows_the_entries_and_the_check_compares_them() {
    let app = TestApp::spawn().await;
    let (client, token) = app.funded_client("tenuto", "100").await;
    let start = app.state.clock.now();
    let debited = submit(&app, &token, FAMIGLIA, &[]).await;
    let price = cents(&debited.assert_ok()["prezzo"]["totale"]);
    assert!(price > 0);
    // The kept balance (one row) and a sum over the entries (the statement's way) agree.
    assert_eq!(balance(&app, &client).await, 10_000 - price);
    let summed = app
        .state
        .store
        .balance(&client, Some(start + 3600))
        .await
        .unwrap();
    assert_eq!(summed, balance(&app, &client).await);
    assert_books_balance(&app).await;
    // Someone edits the kept balance behind the ledger's back: the check names the wallet.
    app.db
        .execute(&format!(
            "UPDATE wallet_balances SET balance = balance + 100 WHERE account = 'wallet:{client}'"
        ))
        .await
        .unwrap();
    let check = app.state.store.check_ledger().await.unwrap();
    assert!(!check.balanced(), "{check:?}");
    assert_eq!(
        check.problems,
        vec![format!(
            "wallet:{client}: the kept balance differs from the sum of its entries"
        )]
    );
}
