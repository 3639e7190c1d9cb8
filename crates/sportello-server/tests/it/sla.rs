//! SLA due times on the working calendar, the clock that stops while the client is asked for
//! more, the escalation that marks overdue requests, the queue's order and counts, and the admin
//! dashboard. Time moves with the ManualClock; nothing sleeps for timing.
#![allow(clippy::unwrap_used)]

use crate::common;

use chrono::TimeZone;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use sportello_domain::calendar::{Calendar, Calendars, Closure, ROME};
use sportello_server::service::sla;
use std::collections::BTreeMap;

const H: i64 = 3600;

/// Unix seconds of a wall-clock time in Rome.
fn rome(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
    ROME.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .unwrap()
        .timestamp()
}

/// Friday 27 November 2026, 10:00 in Rome.
fn friday_10() -> i64 {
    rome(2026, 11, 27, 10, 0)
}

async fn submit(app: &TestApp, hash: &str, urgent: bool) -> Value {
    let service = app.get(&format!("/visure/{hash}")).await;
    let mut body = json!({"hash_visura": hash,
                          "json_visura": valid_json_visura(service.assert_ok())});
    if urgent {
        body["opzioni"] = json!({"opzione_0": true});
    }
    app.post("/richiesta", body).await.assert_ok().clone()
}

fn id(r: &Value) -> String {
    r["_id"].as_str().unwrap().to_string()
}

async fn scadenza(app: &TestApp, id: &str) -> i64 {
    app.get(&format!("/richiesta/{id}")).await.assert_ok()["scadenza"]
        .as_i64()
        .unwrap()
}

async fn queue(app: &TestApp, query: &str) -> Vec<Value> {
    app.op(Method::GET, &format!("/operator/requests{query}"), None)
        .await
        .assert_ok()
        .as_array()
        .unwrap()
        .clone()
}

fn ids_of(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_due_time_is_fixed_at_submission_in_working_hours_skipping_the_weekend() {
    let app = TestApp::spawn().await;
    app.clock.set(friday_10());
    // Assegno Unico, 48 working hours: 14 on Friday, 24 on Monday, 10 on Tuesday.
    let r = submit(&app, ASSEGNO, false).await;
    assert_eq!(r["scadenza"], rome(2026, 12, 1, 10, 0));
    assert_eq!(r["scaduta"], false);
    // The urgent target, 24 working hours: Monday 10:00.
    let urgent = submit(&app, ASSEGNO, true).await;
    assert_eq!(urgent["scadenza"], rome(2026, 11, 30, 10, 0));
    // Moving the clock does not move a fixed due time.
    app.clock.advance(5 * H);
    assert_eq!(scadenza(&app, &id(&r)).await, rome(2026, 12, 1, 10, 0));
}

#[tokio::test]
async fn working_days_end_at_midnight_and_skip_holidays() {
    let app = TestApp::spawn().await;
    // Monday 7 December 2026: 8 December is the Immacolata. Stato di famiglia, 20 working days
    // after the 7th: 9–11, 14–18, 21–24, 28–31 December (25 and 26 are holidays), 4, 5, 7, 8
    // January (6 is the Epifania): the 20th is 8 January, due at its end.
    app.clock.set(rome(2026, 12, 7, 9, 30));
    let r = submit(&app, FAMIGLIA, false).await;
    assert_eq!(r["scadenza"], rome(2027, 1, 9, 0, 0));
}

#[tokio::test]
async fn a_drafts_due_time_is_set_when_it_is_submitted() {
    let app = TestApp::spawn().await;
    app.clock.set(friday_10());
    let service = app.get(&format!("/visure/{ASSEGNO}")).await;
    let draft = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "state": 0,
                   "json_visura": valid_json_visura(service.assert_ok())}),
        )
        .await;
    let draft = draft.assert_ok().clone();
    assert_eq!(draft["scadenza"], Value::Null);
    // Submitted on Monday at 9:00: 48 working hours later is Wednesday 9:00.
    app.clock.set(rome(2026, 11, 30, 9, 0));
    let submitted = app
        .put(&format!("/richiesta/{}", id(&draft)), json!({"state": 1}))
        .await;
    assert_eq!(submitted.assert_ok()["scadenza"], rome(2026, 12, 2, 9, 0));
}

#[tokio::test]
async fn a_providers_closures_move_the_due_time() {
    let calendars = Calendars::new(BTreeMap::from([(
        "CAF Demo".to_string(),
        Calendar::with_closures(vec![Closure::dates(
            "2026-11-30",
            "Chiusura per inventario",
        )
        .unwrap()]),
    )]));
    let app = TestApp::spawn_with_calendars(calendars).await;
    app.clock.set(friday_10());
    // Monday is closed for the demo CAF: 14 h on Friday, 24 on Tuesday, 10 on Wednesday.
    let r = submit(&app, ASSEGNO, false).await;
    assert_eq!(r["scadenza"], rome(2026, 12, 2, 10, 0));
}

#[tokio::test]
async fn the_clock_stops_while_the_client_is_asked_for_more() {
    let app = TestApp::spawn().await;
    app.clock.set(friday_10());
    let r = submit(&app, ASSEGNO, false).await;
    let rid = id(&r);
    let due = rome(2026, 12, 1, 10, 0);
    assert_eq!(r["scadenza"], due);

    app.claim(&rid).await;
    // Asked on Friday at 16:00; the client answers on Monday at 11:00: 8 working hours on
    // Friday, none at the weekend, 11 on Monday.
    app.clock.set(rome(2026, 11, 27, 16, 0));
    app.op(
        Method::POST,
        &format!("/operator/requests/{rid}/integration"),
        Some(json!({"messaggio": "Il documento è illeggibile", "campi": ["$5"]})),
    )
    .await
    .assert_ok();
    // The operators see the clock stopped with what was left: Friday 16:00 to Tuesday 10:00 is
    // 8 + 24 + 10 working hours.
    let waiting = app
        .op(Method::GET, &format!("/operator/requests/{rid}"), None)
        .await;
    let view = waiting.assert_ok()["sla"].clone();
    assert_eq!(view["sospesa"], true);
    assert_eq!(view["secondi_lavorativi_residui"], 42 * H);
    // While waiting, the request is never overdue, however long it waits.
    app.clock.set(rome(2026, 11, 30, 11, 0));
    assert!(sla::escalate(&app.state).await.unwrap().is_empty());

    let supplied = app
        .put(
            &format!("/richiesta/{rid}"),
            json!({"json_visura.$5": pdf_field("carta_leggibile.pdf")}),
        )
        .await;
    let supplied = supplied.assert_ok();
    assert_eq!(supplied["stato_richiesta"], "In erogazione");
    // Tuesday 10:00 + 19 working hours = Wednesday 5:00.
    assert_eq!(supplied["scadenza"], due + 19 * H);
    assert_eq!(supplied["scadenza"], rome(2026, 12, 2, 5, 0));
    // The operator API shows the same due time.
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{rid}"), None)
        .await;
    assert_eq!(detail.assert_ok()["richiesta"]["scadenza"], due + 19 * H);
    let view = detail.assert_ok()["sla"].clone();
    assert_eq!(view["sospesa"], false);
    assert_eq!(view["scadenza"], due + 19 * H);
    // Monday 11:00 to Wednesday 5:00: 13 + 24 + 5 working hours, the same 42 as before.
    assert_eq!(view["secondi_lavorativi_residui"], 42 * H);
}

#[tokio::test]
async fn the_escalation_marks_an_overdue_request_once_with_a_history_entry() {
    let app = TestApp::spawn().await;
    app.clock.set(friday_10());
    let rid = id(&submit(&app, ASSEGNO, false).await);
    let due = rome(2026, 12, 1, 10, 0);

    // At the due time it is not late yet.
    app.clock.set(due);
    assert!(sla::escalate(&app.state).await.unwrap().is_empty());
    app.clock.advance(1);
    assert_eq!(sla::escalate(&app.state).await.unwrap(), vec![rid.clone()]);
    // Once only.
    app.clock.advance(H);
    assert!(sla::escalate(&app.state).await.unwrap().is_empty());

    let r = app.get(&format!("/richiesta/{rid}")).await;
    assert_eq!(r.assert_ok()["scaduta"], true);
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{rid}"), None)
        .await;
    let storia = detail.assert_ok()["storia"].as_array().unwrap().clone();
    let overdue: Vec<_> = storia.iter().filter(|p| p["azione"] == "overdue").collect();
    assert_eq!(overdue.len(), 1, "{storia:#?}");
    assert_eq!(overdue[0]["attore"], "system:sla");
    assert_eq!(overdue[0]["timestamp"], due + 1);
    assert_eq!(overdue[0]["stato"], "In erogazione");
    // The audit trail has it too, by the job, in the same chain.
    let admin = app.admin_token().await;
    let audit = app
        .call(
            Method::GET,
            &format!("/admin/audit?request_id={rid}"),
            &admin,
            None,
        )
        .await;
    let entries = audit.assert_ok().as_array().unwrap().clone();
    assert!(
        entries
            .iter()
            .any(|e| e["attore"] == "system:sla" && e["dettaglio"] == "overdue -> in_erogazione"),
        "{entries:#?}"
    );
    // An hour and a second late.
    let view = detail.assert_ok()["sla"].clone();
    assert_eq!(view["scaduta"], true);
    assert_eq!(view["secondi_lavorativi_residui"], -(H + 1));
}

#[tokio::test]
async fn closed_requests_are_never_escalated() {
    let app = TestApp::spawn().await;
    app.clock.set(friday_10());
    let rid = id(&submit(&app, ASSEGNO, false).await);
    app.work_to_the_end(&rid, &[("esito.pdf", pdf("esito"))])
        .await;
    app.clock.set(rome(2026, 12, 10, 10, 0));
    assert!(sla::escalate(&app.state).await.unwrap().is_empty());
    let r = app.get(&format!("/richiesta/{rid}")).await;
    assert_eq!(r.assert_ok()["scaduta"], false);
}

#[tokio::test]
async fn the_background_job_fires_on_its_own() {
    let app = TestApp::spawn().await;
    app.clock.set(friday_10());
    let rid = id(&submit(&app, ASSEGNO, false).await);
    app.clock.set(rome(2026, 12, 1, 11, 0));
    let job = sla::spawn(
        app.state.clone(),
        std::time::Duration::from_millis(5),
        std::future::pending(),
    );
    // Wait for the job's effect (bounded), not for a length of time.
    let mut marked = false;
    for _ in 0..400 {
        let r = app.get(&format!("/richiesta/{rid}")).await;
        if r.assert_ok()["scaduta"] == true {
            marked = true;
            break;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    job.abort();
    assert!(marked, "the escalation job never marked the request");
}

#[tokio::test]
async fn the_queue_lists_overdue_first_then_by_due_time_and_filters_them() {
    let app = TestApp::spawn().await;
    app.clock.set(friday_10());
    // A: due Tuesday 10:00, but its clock stops (waiting for the client) before it is late.
    let a = id(&submit(&app, ASSEGNO, false).await);
    // F: stato di famiglia, due in 20 working days.
    let f = id(&submit(&app, FAMIGLIA, false).await);
    // B: one hour later, due Tuesday 11:00.
    app.clock.set(friday_10() + H);
    let b = id(&submit(&app, ASSEGNO, false).await);
    assert_eq!(
        ids_of(&queue(&app, "").await),
        [a.clone(), b.clone(), f.clone()]
    );

    app.claim(&a).await;
    app.op(
        Method::POST,
        &format!("/operator/requests/{a}/integration"),
        Some(json!({"messaggio": "Manca il documento", "campi": ["$5"]})),
    )
    .await
    .assert_ok();

    // Tuesday 12:00: B is late, A waits, F has time.
    app.clock.set(rome(2026, 12, 1, 12, 0));
    assert_eq!(sla::escalate(&app.state).await.unwrap(), vec![b.clone()]);
    let items = queue(&app, "").await;
    assert_eq!(ids_of(&items), [b.clone(), a.clone(), f.clone()]);
    assert_eq!(items[0]["scaduta"], true);
    assert_eq!(items[1]["scaduta"], false);
    assert!(items[0]["scadenza"].is_i64());

    assert_eq!(ids_of(&queue(&app, "?overdue=true").await), vec![b.clone()]);
    assert_eq!(
        ids_of(&queue(&app, "?overdue=false").await),
        [a.clone(), f.clone()]
    );
    assert_eq!(
        ids_of(&queue(&app, "?overdue=true&assigned=me").await),
        Vec::<String>::new()
    );
    assert_eq!(ids_of(&queue(&app, "?assigned=me").await), vec![a.clone()]);
    assert_eq!(
        ids_of(&queue(&app, &format!("?hash_visura={FAMIGLIA}")).await),
        vec![f.clone()]
    );
    let bad = app
        .op(Method::GET, "/operator/requests?overdue=maybe", None)
        .await;
    assert_eq!(bad.status, 400, "{:#}", bad.body);
    assert_eq!(bad.error_code(), 912);

    // Counts per state, every state but drafts.
    let counts = app.op(Method::GET, "/operator/counts", None).await;
    let counts = counts.assert_ok().as_array().unwrap().clone();
    let of = |stato: &str| counts.iter().find(|c| c["stato"] == stato).unwrap().clone();
    assert_eq!(counts.len(), 5);
    assert_eq!(of("in_erogazione")["totale"], 2);
    assert_eq!(of("in_erogazione")["scadute"], 1);
    assert_eq!(of("in_attesa_integrazione")["totale"], 1);
    assert_eq!(
        of("in_attesa_integrazione")["stato_richiesta"],
        "In attesa di integrazione"
    );
    assert_eq!(of("visura_evasa")["totale"], 0);
}

#[tokio::test]
async fn the_admin_dashboard_counts_per_provider_and_service() {
    let app = TestApp::spawn().await;
    app.clock.set(friday_10());
    let late = id(&submit(&app, ASSEGNO, false).await);
    let closed = id(&submit(&app, ASSEGNO, false).await);
    let urgent_today = {
        // Monday 9:00, urgent: due Tuesday 9:00.
        app.clock.set(rome(2026, 11, 30, 9, 0));
        id(&submit(&app, ASSEGNO, true).await)
    };
    submit(&app, FAMIGLIA, false).await;
    // The closed one took from Friday 10:00 to Monday 12:00.
    app.clock.set(rome(2026, 11, 30, 12, 0));
    app.work_to_the_end(&closed, &[("esito.pdf", pdf("esito"))])
        .await;
    // Tuesday 8:00: `urgent_today` (due 9:00) and `late` (due 10:00) are due today.
    app.clock.set(rome(2026, 12, 1, 8, 0));
    sla::escalate(&app.state).await.unwrap();

    let admin = app.admin_token().await;
    let answer = app.call(Method::GET, "/admin/sla", &admin, None).await;
    let d = answer.assert_ok();
    assert_eq!(d["generato"], rome(2026, 12, 1, 8, 0));
    let rows = d["righe"].as_array().unwrap();
    let row = |hash: &str| {
        rows.iter()
            .find(|r| r["hash_visura"] == hash)
            .unwrap()
            .clone()
    };
    let assegno = row(ASSEGNO);
    assert_eq!(assegno["provider"], "CAF Demo");
    assert_eq!(assegno["nome_visura"], "Domanda Assegno Unico");
    assert_eq!(assegno["aperte"], 2);
    // Due today: `urgent_today` at 9:00 and `late` at 10:00; none overdue yet.
    assert_eq!(assegno["in_scadenza_oggi"], 2);
    assert_eq!(assegno["scadute"], 0);
    assert_eq!(assegno["evase"], 1);
    assert_eq!(
        assegno["mediana_secondi_chiusura"],
        rome(2026, 11, 30, 12, 0) - friday_10()
    );
    let fam = row(FAMIGLIA);
    assert_eq!(fam["aperte"], 1);
    assert_eq!(fam["in_scadenza_oggi"], 0);
    assert_eq!(fam["mediana_secondi_chiusura"], Value::Null);

    // Later that day both Assegno requests are overdue, and the job marks them.
    app.clock.set(rome(2026, 12, 1, 10, 30));
    let mut marked = sla::escalate(&app.state).await.unwrap();
    marked.sort();
    let mut expected = vec![late.clone(), urgent_today.clone()];
    expected.sort();
    assert_eq!(marked, expected);
    let d = sla::dashboard(&app.state).await.unwrap();
    let a = d.righe.iter().find(|r| r.hash_visura == ASSEGNO).unwrap();
    assert_eq!((a.aperte, a.in_scadenza_oggi, a.scadute), (2, 0, 2));
    assert_eq!(a.evase, 1);

    // Closed requests leave the median after 90 days; open ones stay.
    app.clock.set(rome(2027, 3, 1, 12, 0));
    let d = sla::dashboard(&app.state).await.unwrap();
    let a = d.righe.iter().find(|r| r.hash_visura == ASSEGNO).unwrap();
    assert_eq!((a.aperte, a.evase), (2, 0));
    assert_eq!(a.mediana_secondi_chiusura, None);

    // Operators and clients are refused.
    let as_operator = app.op(Method::GET, "/admin/sla", None).await;
    assert_eq!(as_operator.status, 403);
}

#[tokio::test]
async fn a_reassigned_request_keeps_its_working_time_left_on_the_new_providers_calendar() {
    let calendars = Calendars::new(BTreeMap::from([(
        "CAF Chiuso".to_string(),
        Calendar::with_closures(vec![Closure::dates("2026-11-30", "Chiusura").unwrap()]),
    )]));
    let app = TestApp::spawn_with_calendars(calendars).await;
    app.clock.set(friday_10());
    let r = submit(&app, ASSEGNO, false).await;
    let rid = id(&r);
    assert_eq!(r["scadenza"], rome(2026, 12, 1, 10, 0));
    // Made after the submission, so the routing could not choose it.
    app.new_operator("CAF Chiuso", vec![ASSEGNO.to_string()])
        .await;
    // Handed over on Friday at 12:00 with 46 working hours left: 12 on Friday, Monday closed
    // at the new provider, 24 on Tuesday, 10 on Wednesday.
    app.clock.set(rome(2026, 11, 27, 12, 0));
    let chiuso = app
        .state
        .store
        .list_providers()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == "CAF Chiuso")
        .unwrap();
    sportello_server::service::reassign::reassign(&app.state, "admin:test", None, &rid, &chiuso.id)
        .await
        .unwrap();
    assert_eq!(scadenza(&app, &rid).await, rome(2026, 12, 2, 10, 0));
}
