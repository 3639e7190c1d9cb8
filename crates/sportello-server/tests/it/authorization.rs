//! Authorization review: every operation of the OpenAPI document, called by every kind of
//! caller, answers exactly what the table below says.
//!
//! Callers: two clients (A owns every prepared request, B owns none) and A's live token (the
//! requests are test ones, another environment's), the demo CAF's operator
//! (its provider got the requests) and the operator of a second provider that does not offer the
//! service, an admin, an expired and a revoked token (both A's), a token of each role without
//! the needed scope, and no token at all.
//!
//! The rules the table spells out: another client's request does not exist (404 with the
//! route's own code, never 403, never data); another provider's operator gets 404/914; a token
//! of the wrong role, or without the scope, 403/904; a bad token 401 (900 missing, 902 expired,
//! 903 revoked). Every success is a real one: each row acts on a request prepared in a state that
//! allows the action; where the caller is authorized but the state or the catalog refuses, the
//! row says so (409, 422).
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sportello_server::setup::{self, TokenSpec};
use sportello_store::Role;
use std::collections::BTreeSet;

/// Stato di famiglia: the service every prepared request is for.
const SERVICE: &str = "4c84e22bbabd5f25b0102bb3bfe82790";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    ClientB,
    /// A's own test token: the (live) requests are another environment's.
    ClientATest,
    OperatorOther,
    Expired,
    Revoked,
    ClientNoScope,
    OperatorNoScope,
    AdminNoScope,
    Anonymous,
    // The callers a route may be meant for run last, so a refused call above cannot hide
    // behind a state the authorized call has already changed.
    ClientA,
    OperatorDemo,
    Admin,
}

const CALLERS: [Caller; 12] = [
    Caller::ClientB,
    Caller::ClientATest,
    Caller::OperatorOther,
    Caller::Expired,
    Caller::Revoked,
    Caller::ClientNoScope,
    Caller::OperatorNoScope,
    Caller::AdminNoScope,
    Caller::Anonymous,
    Caller::ClientA,
    Caller::OperatorDemo,
    Caller::Admin,
];

impl Caller {
    /// May this caller see the prepared requests' ids and personal data at all?
    fn privileged(self) -> bool {
        matches!(self, Caller::ClientA | Caller::OperatorDemo | Caller::Admin)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 200, and the success envelope when the answer is JSON.
    Ok,
    /// This status, with the failure envelope carrying this code and no data.
    Err(u16, i64),
}

use Expect::{Err as E, Ok as OK};

const WRONG_ROLE: Expect = E(403, 904);
const NO_SCOPE: Expect = E(403, 904);
const EXPIRED: Expect = E(401, 902);
const REVOKED: Expect = E(401, 903);
const ANONYMOUS: Expect = E(401, 900);
const NOT_IN_QUEUE: Expect = E(404, 914);

trait MapWith {
    /// The same expectations, but `caller` gets `expect`.
    fn map_with(self, caller: Caller, expect: Expect) -> Self;
}

impl MapWith for [Expect; 12] {
    fn map_with(mut self, caller: Caller, expect: Expect) -> Self {
        for (c, e) in CALLERS.iter().zip(self.iter_mut()) {
            if *c == caller {
                *e = expect;
            }
        }
        self
    }
}

/// A route of the client API: `owner` is what A gets, `other` what B gets.
fn client(owner: Expect, other: Expect) -> [Expect; 12] {
    CALLERS.map(|c| match c {
        Caller::ClientA => owner,
        Caller::ClientB | Caller::ClientATest => other,
        Caller::OperatorDemo | Caller::OperatorOther | Caller::Admin => WRONG_ROLE,
        Caller::ClientNoScope => NO_SCOPE,
        Caller::OperatorNoScope | Caller::AdminNoScope => WRONG_ROLE,
        Caller::Expired => EXPIRED,
        Caller::Revoked => REVOKED,
        Caller::Anonymous => ANONYMOUS,
    })
}

/// A route of the operator API: `own` is what the demo CAF's operator gets, `other` what the
/// second provider's operator gets.
fn operator(own: Expect, other: Expect) -> [Expect; 12] {
    CALLERS.map(|c| match c {
        Caller::OperatorDemo => own,
        Caller::OperatorOther => other,
        Caller::ClientA | Caller::ClientB | Caller::ClientATest | Caller::Admin => WRONG_ROLE,
        Caller::OperatorNoScope => NO_SCOPE,
        Caller::ClientNoScope | Caller::AdminNoScope => WRONG_ROLE,
        Caller::Expired => EXPIRED,
        Caller::Revoked => REVOKED,
        Caller::Anonymous => ANONYMOUS,
    })
}

/// A route of the admin API.
fn admin(admin: Expect) -> [Expect; 12] {
    CALLERS.map(|c| match c {
        Caller::Admin => admin,
        Caller::ClientA
        | Caller::ClientB
        | Caller::ClientATest
        | Caller::OperatorDemo
        | Caller::OperatorOther => WRONG_ROLE,
        Caller::AdminNoScope => NO_SCOPE,
        Caller::ClientNoScope | Caller::OperatorNoScope => WRONG_ROLE,
        Caller::Expired => EXPIRED,
        Caller::Revoked => REVOKED,
        Caller::Anonymous => ANONYMOUS,
    })
}

/// A route anyone may call, without a token.
fn public() -> [Expect; 12] {
    [OK; 12]
}

struct Row {
    method: Method,
    /// The operation as the OpenAPI document names it.
    route: &'static str,
    path: String,
    body: Option<Value>,
    expect: [Expect; 12],
}

fn row(
    method: Method,
    route: &'static str,
    path: String,
    body: Option<Value>,
    expect: [Expect; 12],
) -> Row {
    Row {
        method,
        route,
        path,
        body,
        expect,
    }
}

/// The requests the rows act on, all A's, all routed to the demo CAF.
struct Prepared {
    /// Submitted, in the queue, untouched by every row.
    open: String,
    /// A draft (`state: 0`): A may edit it.
    draft: String,
    /// Submitted, untaken: A cancels it.
    client_cancel: String,
    /// Submitted, untaken: the demo operator takes it.
    claim: String,
    /// Taken by the demo operator: it gives it back.
    release: String,
    /// Taken: the demo operator asks for an integration.
    integration: String,
    /// Taken: the demo operator attaches a result.
    results: String,
    /// Taken, with a result: the demo operator closes it.
    close: String,
    /// Submitted, untaken: the demo operator cancels it.
    operator_cancel: String,
    /// Closed with a result: its document and its result file.
    done: String,
    done_file: String,
    /// A's client id and the demo CAF's provider id, for the admin's money routes.
    client_a: String,
    provider: String,
    /// This month, `YYYY-MM`.
    month: String,
    /// A (webhook) delivery of `done`.
    delivery: String,
}

impl Prepared {
    fn ids(&self) -> [&str; 10] {
        [
            &self.open,
            &self.draft,
            &self.client_cancel,
            &self.claim,
            &self.release,
            &self.integration,
            &self.results,
            &self.close,
            &self.operator_cancel,
            &self.done,
        ]
    }
}

fn table(p: &Prepared, create: &Value) -> Vec<Row> {
    let result = json!({"nome": "esito.pdf", "file": b64(&pdf("esito"))});
    vec![
        // --- The client API.
        row(
            Method::GET,
            "/visure",
            "/visure".into(),
            None,
            client(OK, OK),
        ),
        row(
            Method::GET,
            "/visure/{hash_visura}",
            format!("/visure/{SERVICE}"),
            None,
            client(OK, OK),
        ),
        row(
            Method::GET,
            "/visure/{hash_visura}/schema",
            format!("/visure/{SERVICE}/schema"),
            None,
            client(OK, OK),
        ),
        row(
            Method::GET,
            "/visure/{hash_visura}/preventivo",
            format!("/visure/{SERVICE}/preventivo"),
            None,
            client(OK, OK),
        ),
        // Each client's own wallet and statement.
        row(Method::GET, "/conto", "/conto".into(), None, client(OK, OK)),
        // A statement lists live requests: a test token (the sandbox) is refused it.
        row(
            Method::GET,
            "/conto/estratti/{mese}",
            format!("/conto/estratti/{}", p.month),
            None,
            client(OK, OK).map_with(Caller::ClientATest, E(403, 904)),
        ),
        // B's list is its own: empty (checked below: none of A's ids leak into it).
        row(
            Method::GET,
            "/richiesta",
            "/richiesta".into(),
            None,
            client(OK, OK),
        ),
        // `test: true`: validated and priced, nothing stored.
        row(
            Method::POST,
            "/richiesta",
            "/richiesta".into(),
            Some(create.clone()),
            client(OK, OK),
        ),
        row(
            Method::GET,
            "/richiesta/{id}",
            format!("/richiesta/{}", p.open),
            None,
            client(OK, E(404, 202)),
        ),
        row(
            Method::GET,
            "/richiesta/{id}",
            format!("/richiesta/{}", p.draft),
            None,
            client(OK, E(404, 202)),
        ),
        row(
            Method::PUT,
            "/richiesta/{id}",
            format!("/richiesta/{}", p.draft),
            Some(json!({"email_target": "nuovo@example.com"})),
            client(OK, E(404, 228)),
        ),
        row(
            Method::DELETE,
            "/richiesta/{id}",
            format!("/richiesta/{}", p.client_cancel),
            Some(json!({"motivo": "ci ho ripensato"})),
            client(OK, E(404, 202)),
        ),
        // No service of the catalog has a search: the owner is authorized, the catalog refuses.
        row(
            Method::POST,
            "/richiesta/{id}",
            format!("/richiesta/{}", p.open),
            None,
            client(E(409, 222), E(404, 228)),
        ),
        // The mandate reads the person's data: as private as the request.
        row(
            Method::GET,
            "/richiesta/{id}/mandato",
            format!("/richiesta/{}/mandato", p.open),
            None,
            client(OK, E(404, 202)),
        ),
        // Documents beyond the form: as private as the request.
        row(
            Method::POST,
            "/richiesta/{id}/documenti",
            format!("/richiesta/{}/documenti", p.draft),
            Some(json!({"codice": "delega", "file": b64(&pdf("delega"))})),
            client(OK, E(404, 202)),
        ),
        // The person's invitation: the owner's alone. This server has no e-mail (409/925) and
        // the draft no invitation to revoke (409/924): refused after the owner is recognised.
        row(
            Method::POST,
            "/richiesta/{id}/invito",
            format!("/richiesta/{}/invito", p.draft),
            Some(json!({"email": "persona@example.com", "consegna": "link"})),
            client(E(409, 925), E(404, 202)),
        ),
        row(
            Method::DELETE,
            "/richiesta/{id}/invito",
            format!("/richiesta/{}/invito", p.draft),
            None,
            client(E(409, 924), E(404, 202)),
        ),
        row(
            Method::PUT,
            "/richiesta/{id}/ricerche",
            format!("/richiesta/{}/ricerche", p.open),
            None,
            client(E(409, 230), E(404, 228)),
        ),
        row(
            Method::GET,
            "/documento/{id}",
            format!("/documento/{}", p.done),
            None,
            client(OK, E(404, 244)),
        ),
        // Not closed yet: the owner is told so, the other client still learns nothing.
        row(
            Method::GET,
            "/documento/{id}",
            format!("/documento/{}", p.open),
            None,
            client(E(422, 247), E(404, 244)),
        ),
        row(
            Method::GET,
            "/documento/{id}/download",
            format!("/documento/{}/download", p.done),
            None,
            client(OK, E(404, 244)),
        ),
        // --- The operator API.
        // The other provider's queue is empty (checked below: none of the ids leak into it).
        row(
            Method::GET,
            "/operator/requests",
            "/operator/requests".into(),
            None,
            operator(OK, OK),
        ),
        row(
            Method::GET,
            "/operator/counts",
            "/operator/counts".into(),
            None,
            operator(OK, OK),
        ),
        row(
            Method::GET,
            "/operator/requests/{id}",
            format!("/operator/requests/{}", p.open),
            None,
            operator(OK, NOT_IN_QUEUE),
        ),
        // Operators never see drafts, not even their own provider's.
        row(
            Method::GET,
            "/operator/requests/{id}",
            format!("/operator/requests/{}", p.draft),
            None,
            operator(NOT_IN_QUEUE, NOT_IN_QUEUE),
        ),
        row(
            Method::POST,
            "/operator/requests/{id}/claim",
            format!("/operator/requests/{}/claim", p.claim),
            None,
            operator(OK, NOT_IN_QUEUE),
        ),
        row(
            Method::POST,
            "/operator/requests/{id}/release",
            format!("/operator/requests/{}/release", p.release),
            None,
            operator(OK, NOT_IN_QUEUE),
        ),
        row(
            Method::POST,
            "/operator/requests/{id}/integration",
            format!("/operator/requests/{}/integration", p.integration),
            Some(json!({"messaggio": "Manca un documento"})),
            operator(OK, NOT_IN_QUEUE),
        ),
        row(
            Method::POST,
            "/operator/requests/{id}/results",
            format!("/operator/requests/{}/results", p.results),
            Some(result),
            operator(OK, NOT_IN_QUEUE),
        ),
        row(
            Method::POST,
            "/operator/requests/{id}/close",
            format!("/operator/requests/{}/close", p.close),
            Some(json!({"esito": {"codice": "0", "info": "OK"}})),
            operator(OK, NOT_IN_QUEUE),
        ),
        // Closed already: the demo operator is authorized, the state refuses.
        row(
            Method::POST,
            "/operator/requests/{id}/close",
            format!("/operator/requests/{}/close", p.done),
            None,
            operator(E(409, 907), NOT_IN_QUEUE),
        ),
        row(
            Method::POST,
            "/operator/requests/{id}/cancel",
            format!("/operator/requests/{}/cancel", p.operator_cancel),
            Some(json!({"motivo": "richiesta duplicata"})),
            operator(OK, NOT_IN_QUEUE),
        ),
        row(
            Method::GET,
            "/operator/requests/{id}/files/{file_id}",
            format!("/operator/requests/{}/files/{}", p.done, p.done_file),
            None,
            operator(OK, NOT_IN_QUEUE),
        ),
        // A file is reachable only through its own request.
        row(
            Method::GET,
            "/operator/requests/{id}/files/{file_id}",
            format!("/operator/requests/{}/files/{}", p.open, p.done_file),
            None,
            operator(NOT_IN_QUEUE, NOT_IN_QUEUE),
        ),
        // --- The admin API.
        row(
            Method::GET,
            "/admin/audit",
            "/admin/audit".into(),
            None,
            admin(OK),
        ),
        row(
            Method::GET,
            "/admin/audit/verify",
            "/admin/audit/verify".into(),
            None,
            admin(OK),
        ),
        row(
            Method::GET,
            "/admin/sla",
            "/admin/sla".into(),
            None,
            admin(OK),
        ),
        row(
            Method::GET,
            "/admin/clients/{id}/wallet",
            format!("/admin/clients/{}/wallet", p.client_a),
            None,
            admin(OK),
        ),
        row(
            Method::POST,
            "/admin/clients/{id}/topup",
            format!("/admin/clients/{}/topup", p.client_a),
            Some(json!({"importo": "10", "motivo": "bonifico di prova"})),
            admin(OK),
        ),
        row(
            Method::POST,
            "/admin/clients/{id}/adjustment",
            format!("/admin/clients/{}/adjustment", p.client_a),
            Some(json!({"importo": "-1.50", "motivo": "rettifica di prova"})),
            admin(OK),
        ),
        row(
            Method::GET,
            "/admin/clients/{id}/statements/{mese}",
            format!("/admin/clients/{}/statements/{}", p.client_a, p.month),
            None,
            admin(OK),
        ),
        row(
            Method::GET,
            "/admin/providers/{id}/settlements/{mese}",
            format!("/admin/providers/{}/settlements/{}", p.provider, p.month),
            None,
            admin(OK),
        ),
        row(
            Method::PUT,
            "/admin/providers/{id}",
            format!("/admin/providers/{}", p.provider),
            Some(
                json!({"denominazione": "CAF Demo", "tipo": "CAF", "codice_fiscale": "12345671205"}),
            ),
            admin(OK),
        ),
        row(
            Method::PUT,
            "/admin/providers/{id}/informativa",
            format!("/admin/providers/{}/informativa", p.provider),
            Some(json!({"testo": "Informativa di prova"})),
            admin(OK),
        ),
        row(
            Method::PUT,
            "/admin/providers/{id}/mandato",
            format!("/admin/providers/{}/mandato", p.provider),
            Some(json!({"testo": "Mandato di prova"})),
            admin(OK),
        ),
        row(
            Method::GET,
            "/admin/providers/{id}/versioni",
            format!("/admin/providers/{}/versioni", p.provider),
            None,
            admin(OK),
        ),
        row(
            Method::GET,
            "/admin/providers/{id}/informativa/{versione}",
            format!("/admin/providers/{}/informativa/1", p.provider),
            None,
            admin(OK),
        ),
        row(
            Method::GET,
            "/admin/providers/{id}/mandato/{versione}",
            format!("/admin/providers/{}/mandato/1", p.provider),
            None,
            admin(OK),
        ),
        // No personal data: any client may read any provider's notice.
        row(
            Method::GET,
            "/fornitori/{id}/informativa",
            format!("/fornitori/{}/informativa", p.provider),
            None,
            client(OK, OK),
        ),
        row(
            Method::GET,
            "/admin/ledger/verify",
            "/admin/ledger/verify".into(),
            None,
            admin(OK),
        ),
        row(
            Method::GET,
            "/admin/deliveries",
            "/admin/deliveries".into(),
            None,
            admin(OK),
        ),
        row(
            Method::POST,
            "/admin/deliveries/{id}/replay",
            format!("/admin/deliveries/{}/replay", p.delivery),
            None,
            admin(OK),
        ),
        row(
            Method::GET,
            "/admin/clients/{id}/webhook",
            format!("/admin/clients/{}/webhook", p.client_a),
            None,
            admin(OK),
        ),
        row(
            Method::PUT,
            "/admin/clients/{id}/webhook",
            format!("/admin/clients/{}/webhook", p.client_a),
            Some(json!({"url": "https://hooks.example.com/a"})),
            admin(OK),
        ),
        row(
            Method::POST,
            "/admin/clients/{id}/webhook/secret",
            format!("/admin/clients/{}/webhook/secret", p.client_a),
            None,
            admin(OK),
        ),
        // --- Deliveries (client API extension): another client's do not exist for it.
        row(
            Method::GET,
            "/consegne",
            "/consegne".into(),
            None,
            client(OK, OK),
        ),
        row(
            Method::GET,
            "/consegne",
            format!("/consegne?richiesta={}", p.done),
            None,
            client(OK, E(404, 914)),
        ),
        row(
            Method::POST,
            "/consegne/{id}/ripeti",
            format!("/consegne/{}/ripeti", p.delivery),
            None,
            client(OK, E(404, 914)),
        ),
        // --- Operations.
        row(Method::GET, "/healthz", "/healthz".into(), None, public()),
        row(Method::GET, "/readyz", "/readyz".into(), None, public()),
        row(
            Method::GET,
            "/visura/formTool/{hash_visura}.js",
            format!("/visura/formTool/{SERVICE}.js"),
            None,
            public(),
        ),
        // --- The practice's file and a person's data (issue 17 §6).
        row(
            Method::GET,
            "/operator/requests/{id}/fascicolo",
            format!("/operator/requests/{}/fascicolo", p.done),
            None,
            operator(OK, NOT_IN_QUEUE),
        ),
        row(
            Method::POST,
            "/admin/subjects/export",
            "/admin/subjects/export".into(),
            Some(json!({"codice_fiscale": CF})),
            admin(OK),
        ),
    ]
}

/// Does `path` fill in `route`'s template (`{name}` is a non-empty part of one segment, as in
/// `{hash_visura}.js`)?
fn fills(route: &str, path: &str) -> bool {
    // A query string narrows the operation; it is not part of the template.
    let path = path.split('?').next().unwrap_or(path);
    let (r, p): (Vec<&str>, Vec<&str>) = (route.split('/').collect(), path.split('/').collect());
    r.len() == p.len()
        && r.iter()
            .zip(&p)
            .all(|(r, p)| match (r.split_once('{'), r.split_once('}')) {
                (Some((before, _)), Some((_, after))) => p
                    .strip_prefix(before)
                    .and_then(|p| p.strip_suffix(after))
                    .is_some_and(|name| !name.is_empty()),
                _ => r == p,
            })
}

async fn admin_token(app: &TestApp, scopes: Option<Vec<String>>) -> String {
    setup::issue_token(
        &app.state,
        TokenSpec {
            role: Role::Admin,
            client_id: None,
            operator_id: None,
            label: "admin".into(),
            live: false,
            ttl_secs: None,
            scopes,
        },
    )
    .await
    .unwrap()
    .secret
}

/// The demo client's id (A's).
async fn demo_client_id(app: &TestApp) -> String {
    app.state
        .store
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "Demo")
        .unwrap()
        .id
}

/// The demo operator's id.
async fn demo_operator_id(app: &TestApp) -> String {
    let token = app
        .state
        .store
        .find_token(&sportello_store::ids::secret_hash(&app.operator_token))
        .await
        .unwrap()
        .unwrap();
    token.operator_id.unwrap()
}

async fn client_a_token(
    app: &TestApp,
    live: bool,
    ttl_secs: Option<i64>,
    scopes: Option<Vec<String>>,
) -> String {
    setup::issue_token(
        &app.state,
        TokenSpec {
            role: Role::Client,
            client_id: Some(demo_client_id(app).await),
            operator_id: None,
            label: "authorization".into(),
            live,
            ttl_secs,
            scopes,
        },
    )
    .await
    .unwrap()
    .secret
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Answer {
    let mut req = app
        .http
        .request(method.clone(), format!("{}{}", app.base, path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    app.raw(req).await
}

async fn claimed(app: &TestApp) -> String {
    let id = app.submit_valid(SERVICE).await;
    app.claim(&id).await;
    id
}

async fn prepare(app: &TestApp) -> Prepared {
    // A webhook endpoint, so A's requests have deliveries to list and replay.
    app.state
        .store
        .set_webhook_url(
            &demo_client_id(app).await,
            Some("https://hooks.example.com/a"),
        )
        .await
        .unwrap();
    let draft = app
        .post("/richiesta", json!({"hash_visura": SERVICE, "state": 0}))
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    let close = claimed(app).await;
    app.op(
        Method::POST,
        &format!("/operator/requests/{close}/results"),
        Some(json!({"nome": "esito.pdf", "file": b64(&pdf("close"))})),
    )
    .await
    .assert_ok();
    let done = app.submit_valid(SERVICE).await;
    app.work_to_the_end(&done, &[("certificato.pdf", pdf("done"))])
        .await;
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{done}"), None)
        .await;
    let done_file = detail.assert_ok()["risultati"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let delivery = app
        .state
        .store
        .list_deliveries(&sportello_store::DeliveryFilter {
            request_id: Some(done.clone()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()[0]
        .id
        .clone();
    Prepared {
        delivery,
        client_a: demo_client_id(app).await,
        provider: app.state.store.list_providers().await.unwrap()[0]
            .id
            .clone(),
        month: app.state.clock.today().format("%Y-%m").to_string(),
        open: app.submit_valid(SERVICE).await,
        draft,
        client_cancel: app.submit_valid(SERVICE).await,
        claim: app.submit_valid(SERVICE).await,
        release: claimed(app).await,
        integration: claimed(app).await,
        results: claimed(app).await,
        close,
        operator_cancel: app.submit_valid(SERVICE).await,
        done,
        done_file,
    }
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_table_says() {
    // Hundreds of calls from one address: rate limits (tested in limits.rs) are off here.
    let app = TestApp::spawn_with(sportello_server::Limits {
        rate_per_token_per_minute: 0,
        rate_per_ip_per_minute: 0,
        ..Default::default()
    })
    .await;

    // The operations the server documents.
    let doc = app.get("/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    let documented: BTreeSet<(String, String)> = doc.body["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|m| {
                    matches!(
                        m.as_str(),
                        "get" | "put" | "post" | "delete" | "patch" | "head" | "options" | "trace"
                    )
                })
                .map(|m| (m.to_uppercase(), path.clone()))
                .collect::<Vec<_>>()
        })
        .collect();

    // The callers.
    let other_service = app
        .get("/visure")
        .await
        .assert_ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["hash_visura"].as_str().unwrap().to_string())
        .find(|h| h != SERVICE)
        .unwrap();
    let nothing = Some(vec!["GET:/nothing".to_string()]);
    let operator_id = demo_operator_id(&app).await;
    let revoked = setup::issue_token(
        &app.state,
        TokenSpec {
            role: Role::Client,
            client_id: Some(demo_client_id(&app).await),
            operator_id: None,
            label: "revoked".into(),
            live: false,
            ttl_secs: None,
            scopes: None,
        },
    )
    .await
    .unwrap();
    assert!(setup::revoke_token(&app.state, &revoked.record.id)
        .await
        .unwrap());
    let operator_no_scope = setup::issue_token(
        &app.state,
        TokenSpec {
            role: Role::Operator,
            client_id: None,
            operator_id: Some(operator_id),
            label: "no scope".into(),
            live: false,
            ttl_secs: None,
            scopes: nothing.clone(),
        },
    )
    .await
    .unwrap()
    .secret;
    let tokens: Vec<(Caller, Option<String>)> = vec![
        (Caller::ClientA, Some(app.client_token.clone())),
        (
            Caller::ClientB,
            Some(app.new_live_client("Altro Cliente").await),
        ),
        (
            Caller::ClientATest,
            Some(client_a_token(&app, false, None, None).await),
        ),
        (Caller::OperatorDemo, Some(app.operator_token.clone())),
        (
            Caller::OperatorOther,
            Some(app.new_operator("Altro CAF", vec![other_service]).await),
        ),
        (Caller::Admin, Some(admin_token(&app, None).await)),
        // Expires the instant it is issued (the test clock stands still).
        (
            Caller::Expired,
            Some(client_a_token(&app, false, Some(0), None).await),
        ),
        (Caller::Revoked, Some(revoked.secret)),
        (
            Caller::ClientNoScope,
            Some(client_a_token(&app, false, None, nothing.clone()).await),
        ),
        (Caller::OperatorNoScope, Some(operator_no_scope)),
        (Caller::AdminNoScope, Some(admin_token(&app, nothing).await)),
        (Caller::Anonymous, None),
    ];
    let token = |c: Caller| {
        tokens
            .iter()
            .find(|(t, _)| *t == c)
            .map(|(_, s)| s.clone())
            .unwrap()
    };

    // The state the rows act on.
    let prepared = prepare(&app).await;
    let visura = app.get(&format!("/visure/{SERVICE}")).await;
    let create = json!({
        "hash_visura": SERVICE,
        "json_visura": valid_json_visura(visura.assert_ok()),
        "test": true,
    });
    let rows = table(&prepared, &create);

    // The table and the document name the same operations.
    let tabled: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.to_string(), r.route.to_string()))
        .collect();
    let missing: Vec<_> = documented.difference(&tabled).collect();
    let unknown: Vec<_> = tabled.difference(&documented).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "documented but not in the table: {missing:?}; in the table but not documented: {unknown:?}"
    );
    for r in &rows {
        assert!(
            fills(r.route, &r.path),
            "{} does not fill {}",
            r.path,
            r.route
        );
    }

    // Every (row, caller), each failure collected, so one run shows them all.
    let ids = prepared.ids();
    let mut failures = Vec::new();
    let mut cases = 0;
    for r in &rows {
        for (i, caller) in CALLERS.iter().enumerate() {
            cases += 1;
            let expected = r.expect[i];
            let answer = send(
                &app,
                r.method.clone(),
                &r.path,
                token(*caller).as_deref(),
                r.body.as_ref(),
            )
            .await;
            let got = if answer.status == StatusCode::OK {
                OK
            } else {
                E(
                    answer.status.as_u16(),
                    answer.body["error"].as_i64().unwrap_or(-1),
                )
            };
            let case = format!("{} {} as {caller:?}", r.method, r.path);
            if got != expected {
                failures.push(format!(
                    "{case}: expected {expected:?}, got {got:?}: {}",
                    answer.body
                ));
                continue;
            }
            match expected {
                // JSON answers carry the success envelope; streamed files are not JSON, and a
                // JSON Schema document is served as itself, for validators to read.
                OK if !answer.body.is_null() && answer.body.get("$schema").is_none() => {
                    if answer.body["success"] != json!(true) {
                        failures.push(format!("{case}: 200 without success: {}", answer.body));
                    }
                }
                OK => {}
                E(..) => {
                    if answer.body["success"] != json!(false) || answer.body["data"] != Value::Null
                    {
                        failures.push(format!("{case}: refusal with data: {}", answer.body));
                    }
                }
            }
            // Whoever may not see A's requests learns nothing about them: no id it did not
            // send, no personal data.
            if !caller.privileged() {
                let text = answer.body.to_string();
                let leaked: Vec<&&str> = ids
                    .iter()
                    .filter(|id| text.contains(**id) && !r.path.contains(**id))
                    .collect();
                if !leaked.is_empty() || text.contains(CF) {
                    failures.push(format!("{case}: leaks {leaked:?} or the CF: {text}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cases} cases differ from the table:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cases, rows.len() * CALLERS.len());

    // The refused calls changed nothing: the untouched request is still in the queue, untaken.
    let open = app.get(&format!("/richiesta/{}", prepared.open)).await;
    assert_eq!(open.assert_ok()["stato_richiesta"], "In erogazione");
    let queue = app
        .op(Method::GET, "/operator/requests?assigned=none", None)
        .await;
    assert!(queue.assert_ok().to_string().contains(&prepared.open));
}
