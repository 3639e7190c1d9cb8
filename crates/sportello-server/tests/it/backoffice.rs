//! The back office over HTTP, as a browser without JavaScript uses it: cookies, forms, redirects.
//! Login, lock-out, CSRF, logout and session expiry; the queue, the request page and every
//! action with its refusals; tenancy; admin-only pages.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sportello_server::service::accounts;
use sportello_server::setup;
use std::collections::BTreeMap;

pub const PASSWORD: &str = "una password lunga abbastanza";

/// What a browser got: status, headers, the page's text.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The CSRF token of the page's first form.
    pub fn csrf(&self) -> String {
        let at = self.text.find("name=\"csrf\" value=\"").expect("a form") + 19;
        self.text[at..].split('"').next().unwrap().to_string()
    }

    #[track_caller]
    pub fn assert_redirect(&self, to: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "{}", self.text);
        assert!(self.location().starts_with(to), "{}", self.location());
    }

    #[track_caller]
    pub fn assert_shows(&self, status: StatusCode, text: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert!(self.text.contains(text), "{text:?} not in {}", self.text);
    }
}

/// A cookie-keeping browser that does not follow redirects.
pub struct Browser {
    base: String,
    http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
    pub https: bool,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            base: app.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            https: false,
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let mut req = req;
        if !self.cookies.is_empty() {
            let header = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.header(COOKIE, header);
        }
        if self.https {
            req = req.header("x-forwarded-proto", "https");
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        for v in headers.get_all(SET_COOKIE) {
            let text = v.to_str().unwrap();
            let (pair, attrs) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let text = resp.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            text,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(req).await
    }

    /// A multipart form with the CSRF token and one file.
    pub async fn upload(&mut self, path: &str, csrf: &str, name: &str, bytes: &[u8]) -> Page {
        let boundary = "----sportello-test-boundary";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(req).await
    }

    pub async fn try_login(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/backoffice/login").await;
        let csrf = form.csrf();
        self.post(
            "/backoffice/login",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }

    pub async fn login(&mut self, email: &str, password: &str) {
        let page = self.try_login(email, password).await;
        page.assert_redirect("/backoffice");
    }

    /// Posts a form of `page_path` (fetching it for its CSRF token).
    pub async fn act(&mut self, page_path: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let page = self.get(page_path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let csrf = page.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(form);
        self.post(action, &all).await
    }
}

/// The demo operator, with a password; returns its e-mail.
pub async fn demo_operator(app: &TestApp) -> String {
    let op = app
        .state
        .store
        .list_operators()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.email == "operatore@example.invalid")
        .unwrap();
    accounts::set_password(&app.state, &accounts::operator_key(&op.id), PASSWORD)
        .await
        .unwrap();
    op.email
}

/// Another operator of the demo provider, with a password; returns its e-mail.
async fn colleague(app: &TestApp) -> String {
    let provider = app
        .state
        .store
        .list_providers()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == "CAF Demo")
        .unwrap();
    let op = setup::create_operator(&app.state, &provider.id, "Collega", "collega@example.com")
        .await
        .unwrap();
    accounts::set_password(&app.state, &accounts::operator_key(&op.id), PASSWORD)
        .await
        .unwrap();
    op.email
}

pub async fn admin(app: &TestApp) -> String {
    let a = accounts::create_admin(&app.state, "Admin", "admin@example.com")
        .await
        .unwrap();
    accounts::set_password(&app.state, &accounts::admin_key(&a.id), PASSWORD)
        .await
        .unwrap();
    a.email
}

pub async fn logged_in_operator(app: &TestApp) -> Browser {
    let email = demo_operator(app).await;
    let mut b = Browser::new(app);
    b.login(&email, PASSWORD).await;
    b
}

/// An Assegno Unico request (its `$5` is a file), submitted by the demo client.
pub async fn assegno(app: &TestApp) -> String {
    app.post(
        "/richiesta",
        json!({"hash_visura": ASSEGNO, "json_visura": assegno_form()}),
    )
    .await
    .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub fn page_of(id: &str) -> String {
    format!("/backoffice/richieste/{id}")
}

pub fn action(id: &str, verb: &str) -> String {
    format!("/backoffice/richieste/{id}/{verb}")
}

// --- login, cookies, lock-out, CSRF, logout, expiry ---

#[tokio::test]
async fn the_login_page_sets_a_strict_http_only_cookie_and_a_strict_policy() {
    let app = TestApp::spawn().await;
    let mut b = Browser::new(&app);
    let page = b.get("/backoffice/login").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Accesso al back office"));
    let cookie = page.headers[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("sportello_login="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(!cookie.contains("Secure"));
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("style-src 'self'"));
    assert!(!csp.contains("script-src"), "{csp}");
    assert_eq!(page.headers["cache-control"], "no-store");

    // Behind a TLS proxy the session cookie is `Secure` and `__Host-` named.
    let email = demo_operator(&app).await;
    let mut tls = Browser::new(&app);
    tls.https = true;
    let done = tls.try_login(&email, PASSWORD).await;
    done.assert_redirect("/backoffice");
    let cookie = done.headers[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("__Host-sportello_sessione="), "{cookie}");
    assert!(cookie.contains("; Secure") && cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Strict") && cookie.contains("Path=/"));
    let home = tls.get("/backoffice").await;
    home.assert_redirect("/backoffice/coda");
}

#[tokio::test]
async fn the_session_id_is_stored_only_as_a_hash_and_passwords_as_argon2id() {
    let app = TestApp::spawn().await;
    let b = logged_in_operator(&app).await;
    let id = b.cookies["sportello_sessione"].clone();
    assert_eq!(id.len(), 64);
    let [db, wal] = app.at_rest().await;
    for bytes in [&db, &wal] {
        assert!(!bytes.windows(id.len()).any(|w| w == id.as_bytes()));
        assert!(!bytes
            .windows(PASSWORD.len())
            .any(|w| w == PASSWORD.as_bytes()));
    }
    let op = app.state.store.list_operators().await.unwrap()[0].clone();
    let phc = app
        .state
        .store
        .password(&accounts::operator_key(&op.id))
        .await
        .unwrap()
        .unwrap();
    assert!(phc.starts_with("$argon2id$"), "{phc}");
}

#[tokio::test]
async fn pages_need_a_login() {
    let app = TestApp::spawn().await;
    let mut b = Browser::new(&app);
    for path in ["/backoffice", "/backoffice/coda", "/backoffice/admin"] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location(), "/backoffice/login");
    }
    // A made-up session cookie is no session.
    b.cookies
        .insert("sportello_sessione".into(), "ab".repeat(32));
    b.get("/backoffice/coda").await;
    assert_eq!(
        b.get("/backoffice/coda").await.location(),
        "/backoffice/login"
    );
}

#[tokio::test]
async fn a_wrong_password_or_unknown_address_is_refused_alike() {
    let app = TestApp::spawn().await;
    let email = demo_operator(&app).await;
    let mut b = Browser::new(&app);
    let wrong = b.try_login(&email, "not the password at all").await;
    wrong.assert_shows(StatusCode::UNAUTHORIZED, "E-mail o password non corrette.");
    let unknown = b.try_login("nobody@example.com", PASSWORD).await;
    unknown.assert_shows(StatusCode::UNAUTHORIZED, "E-mail o password non corrette.");
    assert!(!b.cookies.contains_key("sportello_sessione"));
    // The address typed is not echoed back.
    assert!(!unknown.text.contains("nobody@example.com"));
}

#[tokio::test]
async fn five_failures_lock_the_address_for_fifteen_minutes() {
    let app = TestApp::spawn().await;
    let email = demo_operator(&app).await;
    let mut b = Browser::new(&app);
    for _ in 0..5 {
        let page = b.try_login(&email, "wrong password here").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused now, and says why.
    let locked = b.try_login(&email, PASSWORD).await;
    locked.assert_shows(StatusCode::TOO_MANY_REQUESTS, "bloccato per 15 minuti");
    // The address is matched case-insensitively: no way around by capitals.
    let upper = b.try_login(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(upper.status, StatusCode::TOO_MANY_REQUESTS);
    app.clock.advance(14 * 60);
    assert_eq!(
        b.try_login(&email, PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(61);
    b.login(&email, PASSWORD).await;
}

#[tokio::test]
async fn forms_without_the_session_token_are_refused() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(FAMIGLIA).await;
    let mut b = logged_in_operator(&app).await;
    let missing = b.post(&action(&id, "prendi"), &[]).await;
    missing.assert_shows(StatusCode::FORBIDDEN, "Il modulo non è più valido");
    let forged = b
        .post(&action(&id, "prendi"), &[("csrf", &"0".repeat(64))])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // Nothing happened.
    let api = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    assert_eq!(api.assert_ok()["operatore"], serde_json::Value::Null);
    // Logout needs it too.
    let out = b.post("/backoffice/logout", &[]).await;
    assert_eq!(out.status, StatusCode::FORBIDDEN);
    // The login form needs its own token, tied to its cookie.
    let mut fresh = Browser::new(&app);
    let email = "operatore@example.invalid";
    let no_cookie = fresh
        .post(
            "/backoffice/login",
            &[("csrf", "abc"), ("email", email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(no_cookie.status, StatusCode::FORBIDDEN);
    assert!(!fresh.cookies.contains_key("sportello_sessione"));
    // A token from one session does not work in another.
    let mut other = Browser::new(&app);
    other.login(email, PASSWORD).await;
    let theirs = other.get("/backoffice/coda").await.csrf();
    let crossed = b.post(&action(&id, "prendi"), &[("csrf", &theirs)]).await;
    assert_eq!(crossed.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn logout_ends_the_session_for_good() {
    let app = TestApp::spawn().await;
    let mut b = logged_in_operator(&app).await;
    let stolen = b.cookies.clone();
    let csrf = b.get("/backoffice/coda").await.csrf();
    let out = b.post("/backoffice/logout", &[("csrf", &csrf)]).await;
    out.assert_redirect("/backoffice/login");
    assert!(!b.cookies.contains_key("sportello_sessione"));
    // Replaying the old cookie opens nothing.
    b.cookies = stolen;
    assert_eq!(
        b.get("/backoffice/coda").await.location(),
        "/backoffice/login"
    );
}

#[tokio::test]
async fn sessions_expire_when_idle_and_after_twelve_hours() {
    let app = TestApp::spawn().await;
    let mut b = logged_in_operator(&app).await;
    app.clock.advance(29 * 60);
    assert_eq!(b.get("/backoffice/coda").await.status, StatusCode::OK);
    app.clock.advance(30 * 60 + 1);
    assert_eq!(
        b.get("/backoffice/coda").await.location(),
        "/backoffice/login"
    );

    // Kept busy, a session still ends twelve hours after the login.
    let mut busy = logged_in_operator(&app).await;
    for _ in 0..(12 * 60 / 20 - 1) {
        app.clock.advance(20 * 60);
        assert_eq!(busy.get("/backoffice/coda").await.status, StatusCode::OK);
    }
    app.clock.advance(20 * 60);
    assert_eq!(
        busy.get("/backoffice/coda").await.location(),
        "/backoffice/login"
    );
}

#[tokio::test]
async fn a_disabled_operator_or_a_new_password_ends_the_session() {
    let app = TestApp::spawn().await;
    let mut b = logged_in_operator(&app).await;
    let op = app.state.store.list_operators().await.unwrap()[0].clone();
    accounts::set_password(
        &app.state,
        &accounts::operator_key(&op.id),
        "another long password",
    )
    .await
    .unwrap();
    assert_eq!(
        b.get("/backoffice/coda").await.location(),
        "/backoffice/login"
    );
    b.login(&op.email, "another long password").await;
    app.state
        .store
        .set_operator_disabled(&op.id, true)
        .await
        .unwrap();
    assert_eq!(
        b.get("/backoffice/coda").await.location(),
        "/backoffice/login"
    );
    let refused = b.try_login(&op.email, "another long password").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

// --- the queue ---

#[tokio::test]
async fn the_queue_lists_the_providers_requests_with_counts_and_filters() {
    let app = TestApp::spawn().await;
    let first = app.submit_valid(FAMIGLIA).await;
    app.clock.advance(1);
    let second = assegno(&app).await;
    let mut b = logged_in_operator(&app).await;
    let queue = b.get("/backoffice/coda").await;
    assert_eq!(queue.status, StatusCode::OK);
    let (a, c) = (
        queue.text.find(&first).unwrap(),
        queue.text.find(&second).unwrap(),
    );
    // By due time: the Assegno Unico (hours) before the certificate (working days).
    assert!(c < a, "earliest due first");
    assert!(queue.text.contains("In erogazione: <strong>2</strong>"));

    b.act(&page_of(&first), &action(&first, "prendi"), &[])
        .await
        .assert_redirect(&page_of(&first));
    let mine = b.get("/backoffice/coda?assegnate=me").await;
    assert!(mine.text.contains(&first) && !mine.text.contains(&second));
    let free = b.get("/backoffice/coda?assegnate=none").await;
    assert!(!free.text.contains(&first) && free.text.contains(&second));
    let by_service = b.get(&format!("/backoffice/coda?servizio={ASSEGNO}")).await;
    assert!(!by_service.text.contains(&first) && by_service.text.contains(&second));
    let closed = b.get("/backoffice/coda?stato=visura_evasa").await;
    assert!(closed.text.contains("Nessuna richiesta con questi filtri."));
    let bad = b.get("/backoffice/coda?stato=nonsense").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text.contains("Azione non consentita") || bad.text.contains("non"));
}

#[tokio::test]
async fn the_queue_pages_by_twenty_five() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for _ in 0..26 {
        app.clock.advance(1);
        ids.push(app.submit_valid(FAMIGLIA).await);
    }
    let mut b = logged_in_operator(&app).await;
    let one = b.get("/backoffice/coda").await;
    assert!(one.text.contains(&ids[24]) && !one.text.contains(&ids[25]));
    assert!(one.text.contains("/backoffice/coda?pagina=2"));
    let two = b.get("/backoffice/coda?pagina=2").await;
    assert!(two.text.contains(&ids[25]) && !two.text.contains(&ids[0]));
    assert!(two.text.contains("Pagina precedente"));
}

// --- the request page and the actions ---

#[tokio::test]
async fn an_operator_works_a_request_end_to_end_in_the_back_office() {
    let app = TestApp::spawn().await;
    let id = assegno(&app).await;
    let mut b = logged_in_operator(&app).await;
    let path = page_of(&id);

    let page = b.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Assegno"), "{}", page.text);
    assert!(page.text.contains("In erogazione"));
    assert!(page.text.contains("inviata dal cliente"));
    // The fields by the catalog's names, in `ordine` order, with their values and files.
    assert!(page.text.contains("data-campo=\"$0\""));
    assert!(page.text.contains(&format!("{path}/file/")));
    assert!(page.text.contains("Prendi in carico"));

    b.act(&path, &action(&id, "prendi"), &[])
        .await
        .assert_redirect(&format!("{path}?fatto=presa"));
    let taken = b.get(&format!("{path}?fatto=presa")).await;
    assert!(taken.text.contains("Hai preso in carico la richiesta."));
    assert!(taken.text.contains("<dd id=\"assegnata\">a te</dd>"));

    // Ask for integration of `$5`: the client sees it and answers with PUT.
    b.act(
        &path,
        &action(&id, "integrazione"),
        &[("messaggio", "Il documento è illeggibile"), ("campi", "$5")],
    )
    .await
    .assert_redirect(&path);
    let client_view = app.get(&format!("/richiesta/{id}")).await;
    let r = client_view.assert_ok();
    assert_eq!(r["stato_richiesta"], "In attesa di integrazione");
    assert_eq!(r["integrazione"]["campi"], json!(["$5"]));
    let waiting = b.get(&path).await;
    assert!(waiting.text.contains("Il documento è illeggibile"));
    assert!(waiting.text.contains("(integrazione chiesta)"));
    app.put(
        &format!("/richiesta/{id}"),
        json!({"json_visura.$5": pdf_field("nuova.pdf")}),
    )
    .await
    .assert_ok();
    let back = b.get(&path).await;
    assert!(back.text.contains("<dd id=\"stato\">In erogazione</dd>"));
    assert!(back.text.contains("integrazione fornita") || back.text.contains("cliente"));

    // A note for the colleagues, sealed in the database.
    b.act(
        &path,
        &action(&id, "note"),
        &[("nota", "Chiamato il CAF di zona")],
    )
    .await
    .assert_redirect(&path);
    assert!(b.get(&path).await.text.contains("Chiamato il CAF di zona"));

    // Upload a PDF result and close.
    let result = pdf("esito finale");
    let csrf = b.get(&path).await.csrf();
    b.upload(&action(&id, "risultati"), &csrf, "esito.pdf", &result)
        .await
        .assert_redirect(&format!("{path}?fatto=risultato"));
    let with_result = b.get(&path).await;
    assert!(with_result.text.contains("esito.pdf"));
    b.act(
        &path,
        &action(&id, "chiudi"),
        &[("codice", "0"), ("info", "Pratica completata")],
    )
    .await
    .assert_redirect(&format!("{path}?fatto=chiusa"));
    let closed = b.get(&path).await;
    assert!(closed.text.contains("<dd id=\"stato\">Visura evasa</dd>"));
    assert!(closed.text.contains("Pratica completata"));

    // The client downloads the same file.
    let zip = app
        .http
        .get(format!("{}/documento/{id}/download", app.base))
        .bearer_auth(&app.client_token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).unwrap();
    let mut inside = archive.by_index(0).unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut inside, &mut bytes).unwrap();
    assert_eq!(bytes, result);

    // The operator downloads it too, decrypted, and the download is audited.
    let link_at = closed.text.find(&format!("{path}/file/")).unwrap();
    let link = closed.text[link_at..]
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let resp = b.get(&link).await;
    assert_eq!(resp.status, StatusCode::OK);
    let audit = app
        .state
        .store
        .audit_entries(0, 1000, Some(&id))
        .await
        .unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.event.action.as_str()).collect();
    assert!(actions.contains(&"read_personal_data"), "{actions:?}");
    assert!(actions.contains(&"download_file"), "{actions:?}");
    assert!(actions.contains(&"add_note"), "{actions:?}");
}

#[tokio::test]
async fn a_note_is_sealed_at_rest() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(FAMIGLIA).await;
    let mut b = logged_in_operator(&app).await;
    let secret_note = "NotaRiconoscibileXYZ";
    b.act(
        &page_of(&id),
        &action(&id, "note"),
        &[("nota", secret_note)],
    )
    .await
    .assert_redirect(&page_of(&id));
    let [db, wal] = app.at_rest().await;
    for bytes in [&db, &wal] {
        assert!(!bytes
            .windows(secret_note.len())
            .any(|w| w == secret_note.as_bytes()));
    }
    let empty = b
        .act(&page_of(&id), &action(&id, "note"), &[("nota", "  ")])
        .await;
    empty.assert_shows(StatusCode::BAD_REQUEST, "Scrivi la nota");
}

#[tokio::test]
async fn refusals_are_clear_italian_messages() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(FAMIGLIA).await;
    let mut b = logged_in_operator(&app).await;
    let path = page_of(&id);
    // Not taken yet: nothing to close.
    let early = b.act(&path, &action(&id, "chiudi"), &[]).await;
    early.assert_shows(StatusCode::CONFLICT, "Prendi in carico la richiesta");
    b.act(&path, &action(&id, "prendi"), &[]).await;
    let twice = b.act(&path, &action(&id, "prendi"), &[]).await;
    twice.assert_shows(StatusCode::CONFLICT, "già stata presa in carico");
    let no_result = b.act(&path, &action(&id, "chiudi"), &[]).await;
    no_result.assert_shows(StatusCode::CONFLICT, "Allega almeno un file");
    let no_message = b
        .act(&path, &action(&id, "integrazione"), &[("messaggio", "")])
        .await;
    no_message.assert_shows(StatusCode::BAD_REQUEST, "Scrivi il messaggio");
    let no_reason = b
        .act(&path, &action(&id, "annulla"), &[("motivo", "")])
        .await;
    no_reason.assert_shows(StatusCode::BAD_REQUEST, "Scrivi il motivo");
    let nul = b
        .act(&path, &action(&id, "chiudi"), &[("info", "fatto\u{0}")])
        .await;
    nul.assert_shows(StatusCode::BAD_REQUEST, "carattere non ammesso");
    let csrf = b.get(&path).await.csrf();
    let not_pdf = b
        .upload(&action(&id, "risultati"), &csrf, "x.pdf", b"just text")
        .await;
    not_pdf.assert_shows(
        StatusCode::PRECONDITION_FAILED,
        "Il file non è stato accettato",
    );
    let nothing = b
        .upload(&action(&id, "risultati"), &csrf, "x.pdf", b"")
        .await;
    nothing.assert_shows(StatusCode::BAD_REQUEST, "Scegli un file");

    // A colleague cannot act on a request I hold.
    let email = colleague(&app).await;
    let mut c = Browser::new(&app);
    c.login(&email, PASSWORD).await;
    let theirs = c.act(&path, &action(&id, "rilascia"), &[]).await;
    theirs.assert_shows(StatusCode::CONFLICT, "Un altro operatore");

    // Cancelled, it refuses everything but reading.
    b.act(
        &path,
        &action(&id, "annulla"),
        &[("motivo", "Richiesta doppia")],
    )
    .await
    .assert_redirect(&path);
    let page = b.get(&path).await;
    assert!(page.text.contains("Annullata") && page.text.contains("Richiesta doppia"));
    assert!(!page.text.contains("id=\"prendi\""));
    let csrf = page.csrf();
    let after = b.post(&action(&id, "prendi"), &[("csrf", &csrf)]).await;
    after.assert_shows(StatusCode::CONFLICT, "annullata");
}

#[tokio::test]
async fn two_operators_racing_for_a_request_cannot_both_win() {
    let app = TestApp::spawn().await;
    let colleague_email = colleague(&app).await;
    for _ in 0..5 {
        let id = app.submit_valid(FAMIGLIA).await;
        let mut a = logged_in_operator(&app).await;
        let mut c = Browser::new(&app);
        c.login(&colleague_email, PASSWORD).await;
        let csrf_a = a.get(&page_of(&id)).await.csrf();
        let csrf_c = c.get(&page_of(&id)).await.csrf();
        let (pa, pc) = (action(&id, "prendi"), action(&id, "prendi"));
        let (fa, fc) = ([("csrf", csrf_a.as_str())], [("csrf", csrf_c.as_str())]);
        let (ra, rc) = tokio::join!(a.post(&pa, &fa), c.post(&pc, &fc));
        let wins = [&ra, &rc]
            .iter()
            .filter(|p| p.status == StatusCode::SEE_OTHER)
            .count();
        let losses = [&ra, &rc]
            .iter()
            .filter(|p| p.status == StatusCode::CONFLICT)
            .count();
        assert_eq!((wins, losses), (1, 1));
        let history = app.state.store.history(&id).await.unwrap();
        assert_eq!(history.iter().filter(|h| h.action == "claim").count(), 1);
    }
}

#[tokio::test]
async fn an_operator_of_another_provider_gets_404() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(FAMIGLIA).await;
    // A provider that does not work this service.
    let provider = setup::create_provider(&app.state, "Patronato Altro", vec![ASSEGNO.into()])
        .await
        .unwrap();
    let op = setup::create_operator(&app.state, &provider.id, "Altro", "altro@example.com")
        .await
        .unwrap();
    accounts::set_password(&app.state, &accounts::operator_key(&op.id), PASSWORD)
        .await
        .unwrap();
    let mut b = Browser::new(&app);
    b.login("altro@example.com", PASSWORD).await;
    let page = b.get(&page_of(&id)).await;
    page.assert_shows(StatusCode::NOT_FOUND, "non è della tua coda");
    assert!(!b.get("/backoffice/coda").await.text.contains(&id));
    let csrf = b.get("/backoffice/coda").await.csrf();
    for verb in ["prendi", "rilascia", "chiudi", "note"] {
        let r = b
            .post(&action(&id, verb), &[("csrf", &csrf), ("nota", "x")])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{verb}");
    }
    let file = b.get(&format!("{}/file/f_x", page_of(&id))).await;
    assert_eq!(file.status, StatusCode::NOT_FOUND);
    let garbage = b.get("/backoffice/richieste/not-an-id").await;
    assert_eq!(garbage.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admin_pages_are_for_admins_and_operator_pages_for_operators() {
    let app = TestApp::spawn().await;
    let mut op = logged_in_operator(&app).await;
    let refused = op.get("/backoffice/admin").await;
    refused.assert_shows(StatusCode::FORBIDDEN, "riservata agli amministratori");
    let email = admin(&app).await;
    let mut adm = Browser::new(&app);
    adm.login(&email, PASSWORD).await;
    adm.get("/backoffice")
        .await
        .assert_redirect("/backoffice/admin");
    assert_eq!(adm.get("/backoffice/admin").await.status, StatusCode::OK);
    assert_eq!(
        adm.get("/backoffice/coda").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_new_installation_gets_one_admin_with_a_printed_password() {
    let app = TestApp::spawn().await;
    let first = accounts::bootstrap_admin(&app.state)
        .await
        .unwrap()
        .unwrap();
    assert!(accounts::bootstrap_admin(&app.state)
        .await
        .unwrap()
        .is_none());
    let mut b = Browser::new(&app);
    b.login(&first.admin.email, &first.password).await;
    b.get("/backoffice")
        .await
        .assert_redirect("/backoffice/admin");
}

// --- the optional second factor ---

#[tokio::test]
async fn totp_once_enabled_is_required_at_login() {
    use sportello_server::service::totp;
    use sportello_server::Clock;
    let app = TestApp::spawn().await;
    let mut b = logged_in_operator(&app).await;
    let account = b.get("/backoffice/account").await;
    account.assert_shows(StatusCode::OK, "Non attiva.");
    let started = b
        .act(
            "/backoffice/account",
            "/backoffice/account/totp/inizia",
            &[],
        )
        .await;
    started.assert_shows(StatusCode::OK, "id=\"chiave-totp\"");
    let at = started.text.find("id=\"chiave-totp\">").unwrap() + 17;
    let secret = started.text[at..].split('<').next().unwrap().to_string();
    let now = || u64::try_from(app.clock.now()).unwrap();
    // A wrong code does not enable it.
    let csrf = started.csrf();
    let wrong = b
        .post(
            "/backoffice/account/totp/conferma",
            &[("csrf", &csrf), ("codice", "000000")],
        )
        .await;
    if totp::code_at(&secret, now()).as_deref() != Some("000000") {
        wrong.assert_shows(StatusCode::BAD_REQUEST, "Il codice non corrisponde");
    }
    let code = totp::code_at(&secret, now()).unwrap();
    b.post(
        "/backoffice/account/totp/conferma",
        &[("csrf", &csrf), ("codice", &code)],
    )
    .await
    .assert_redirect("/backoffice/account?fatto=attivata");
    // The secret is never in the database (only the wrapped key it is derived from).
    let [db, wal] = app.at_rest().await;
    for bytes in [&db, &wal] {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }

    let email = "operatore@example.invalid";
    let mut fresh = Browser::new(&app);
    let without = fresh.try_login(email, PASSWORD).await;
    without.assert_shows(
        StatusCode::UNAUTHORIZED,
        "Codice di verifica mancante o errato",
    );
    assert!(!fresh.cookies.contains_key("sportello_sessione"));
    // Thirty seconds later the code has changed (one step of skew is accepted, two are not).
    app.clock.advance(90);
    let old = fresh.get("/backoffice/login").await.csrf();
    let stale = fresh
        .post(
            "/backoffice/login",
            &[
                ("csrf", &old),
                ("email", email),
                ("password", PASSWORD),
                ("codice", &code),
            ],
        )
        .await;
    if totp::code_at(&secret, now()).as_deref() != Some(code.as_str()) {
        assert_eq!(stale.status, StatusCode::UNAUTHORIZED);
    }
    let current = totp::code_at(&secret, now()).unwrap();
    let form = fresh.get("/backoffice/login").await.csrf();
    fresh
        .post(
            "/backoffice/login",
            &[
                ("csrf", &form),
                ("email", email),
                ("password", PASSWORD),
                ("codice", &current),
            ],
        )
        .await
        .assert_redirect("/backoffice");
    assert_eq!(fresh.get("/backoffice/coda").await.status, StatusCode::OK);

    // Turning it off needs a code too, and one not used before.
    let refused = fresh
        .act(
            "/backoffice/account",
            "/backoffice/account/totp/disattiva",
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    app.clock.advance(30);
    let next = totp::code_at(&secret, now()).unwrap();
    fresh
        .act(
            "/backoffice/account",
            "/backoffice/account/totp/disattiva",
            &[("codice", &next)],
        )
        .await
        .assert_redirect("/backoffice/account?fatto=disattivata");
    let mut plain = Browser::new(&app);
    plain.login(email, PASSWORD).await;
}

// --- due times ---

/// The text of `html` after the first `start`, up to the next `end`.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} not in {html}"))
        + start.len();
    html[from..].split(end).next().unwrap()
}

/// The queue's table row of request `id`.
fn queue_row<'a>(queue: &'a str, id: &str) -> &'a str {
    between(queue, &format!("data-id=\"{id}\""), "</tr>")
}

#[tokio::test]
async fn a_wrong_method_gets_the_back_office_error_page() {
    let app = TestApp::spawn().await;
    let mut b = logged_in_operator(&app).await;
    let id = app.submit_valid(FAMIGLIA).await;
    for (method, path) in [
        (Method::GET, "/backoffice/logout".to_string()),
        (Method::DELETE, "/backoffice/coda".to_string()),
        (Method::GET, format!("/backoffice/richieste/{id}/prendi")),
        (Method::PUT, "/backoffice/admin/clienti".to_string()),
    ] {
        let req = b.http.request(method.clone(), format!("{}{path}", b.base));
        let page = b.send(req).await;
        page.assert_shows(StatusCode::METHOD_NOT_ALLOWED, "Azione non disponibile");
        let kind = page.headers.get("content-type").unwrap().to_str().unwrap();
        assert!(kind.starts_with("text/html"), "{method} {path}: {kind}");
    }
    // The API keeps its JSON answer.
    let api = app
        .op(Method::GET, &format!("/operator/requests/{id}/claim"), None)
        .await;
    assert_eq!(api.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(api.body["success"], json!(false));
}

#[tokio::test]
async fn the_queue_shows_due_times_and_puts_overdue_requests_first() {
    use sportello_server::service::sla;
    let app = TestApp::spawn().await;
    // Stato di famiglia has a long turnaround, Assegno Unico a short one.
    let slow = app.submit_valid(FAMIGLIA).await;
    app.clock.advance(1);
    let fast = assegno(&app).await;
    let mut b = logged_in_operator(&app).await;
    let queue = b.get("/backoffice/coda").await;
    assert!(!queue.text.contains("SCADUTA"));
    let page = b.get(&page_of(&fast)).await;
    assert!(page.text.contains("id=\"scadenza\""), "{}", page.text);
    assert!(page.text.contains("Tempo lavorativo residuo"));
    // The queue shows each request's working time left, as its page does.
    let left = between(&page.text, "id=\"residuo\">", "<");
    assert!(!left.is_empty() && !left.starts_with("scaduta"), "{left}");
    let row = queue_row(&queue.text, &fast);
    assert!(
        row.contains(&format!("class=\"residuo\">({left})<")),
        "{row}"
    );
    assert!(queue_row(&queue.text, &slow).contains("class=\"residuo\">("));

    // Ten days later the Assegno Unico is late; the escalation job marks it.
    app.clock.advance(10 * 86_400);
    let marked = sla::escalate(&app.state).await.unwrap();
    assert!(marked.contains(&fast), "{marked:?}");
    // (Ten idle days also ended the session.)
    let mut b = logged_in_operator(&app).await;
    let queue = b.get("/backoffice/coda").await;
    assert!(queue.text.contains("SCADUTA"));
    let (f, s) = (
        queue.text.find(&fast).unwrap(),
        queue.text.find(&slow).unwrap(),
    );
    assert!(f < s, "overdue first");
    assert!(queue.text.contains("scadute)"));
    let only = b.get("/backoffice/coda?scadute=si").await;
    assert!(only.text.contains(&fast) && !only.text.contains(&slow));
    let others = b.get("/backoffice/coda?scadute=no").await;
    assert!(!others.text.contains(&fast));
    let page = b.get(&page_of(&fast)).await;
    assert!(page.text.contains("scaduta da"), "{}", page.text);
    let late = between(&page.text, "id=\"residuo\">", "<");
    assert!(late.starts_with("scaduta da"), "{late}");
    let row = queue_row(&queue.text, &fast);
    assert!(
        row.contains(&format!("class=\"residuo\">({late})<")),
        "{row}"
    );
    assert_eq!(
        b.get("/backoffice/coda?scadute=forse").await.status,
        StatusCode::BAD_REQUEST
    );

    // The admin's dashboard counts it.
    let email = admin(&app).await;
    let mut a = Browser::new(&app);
    a.login(&email, PASSWORD).await;
    let dash = a.get("/backoffice/admin/sla").await;
    dash.assert_shows(StatusCode::OK, "Domanda Assegno Unico");
    assert!(dash.text.contains("class=\"overdue\">1<"), "{}", dash.text);
}

#[tokio::test]
async fn logins_and_logouts_are_in_the_audit_trail() {
    let app = TestApp::spawn().await;
    let mut b = logged_in_operator(&app).await;
    let csrf = b.get("/backoffice/coda").await.csrf();
    b.post("/backoffice/logout", &[("csrf", &csrf)]).await;
    let entries = app.state.store.audit_entries(0, 100, None).await.unwrap();
    let op = app.state.store.list_operators().await.unwrap()[0]
        .id
        .clone();
    let mine: Vec<&str> = entries
        .iter()
        .filter(|e| e.event.actor == format!("operator:{op}"))
        .map(|e| e.event.action.as_str())
        .collect();
    assert_eq!(mine, ["login", "logout"]);
    assert!(entries.iter().all(|e| !e.event.detail.contains('@')));
    assert_eq!(
        sportello_server::service::audit::verify(&app.state)
            .await
            .unwrap()
            .map(|v| v.entries)
            .map_err(|b| b.seq),
        Ok(entries.len() as u64)
    );
}

#[tokio::test]
async fn the_retention_pass_deletes_expired_sessions_and_stale_failed_logins() {
    let app = TestApp::spawn().await;
    let operator = demo_operator(&app).await;
    // Failures on another address: a successful login clears its own address's failures.
    let admin = admin(&app).await;
    let mut intruder = Browser::new(&app);
    for _ in 0..2 {
        let page = intruder.try_login(&admin, "wrong password here").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    let mut idle = Browser::new(&app);
    idle.login(&operator, PASSWORD).await;
    app.clock.advance(20 * 60);
    let mut busy = Browser::new(&app);
    busy.login(&operator, PASSWORD).await;
    let page = intruder.try_login(&admin, "wrong password here").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);

    // 34 minutes on: the first session has been idle past its 30 minutes and was never
    // presented again; the first two failures are outside the 15-minute lock-out window.
    app.clock.advance(14 * 60);
    assert_eq!(
        accounts::forget_expired(&app.state).await.unwrap(),
        (1, 2),
        "one session, two failures"
    );
    // Nothing else was touched: the live session works, the recent failure still counts
    // (four more lock the address), and a second pass finds nothing.
    assert_eq!(busy.get("/backoffice/coda").await.status, StatusCode::OK);
    for _ in 0..4 {
        intruder.try_login(&admin, "wrong password here").await;
    }
    assert_eq!(
        intruder.try_login(&admin, PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(accounts::forget_expired(&app.state).await.unwrap(), (0, 0));
    assert_eq!(
        idle.get("/backoffice/coda").await.location(),
        "/backoffice/login"
    );
}

// --- documents beyond the form, the mandate (issue 17 §3, §5) ---

/// The link of the first supplied document of `codice` on a request page.
fn document_link(page: &str, codice: &str) -> String {
    let row = between(
        between(page, "<table id=\"documenti\">", "</table>"),
        &format!("data-codice=\"{codice}\""),
        "</tr>",
    );
    between(row, "href=\"", "\"").to_string()
}

#[tokio::test]
async fn the_integration_form_offers_the_checklist_and_the_page_lists_what_arrives() {
    let app = TestApp::spawn().await;
    let id = assegno(&app).await;
    let mut b = logged_in_operator(&app).await;
    let path = page_of(&id);
    b.act(&path, &action(&id, "prendi"), &[]).await;

    // The service's checklist as checkboxes, compulsory ones marked, with their notes; a free
    // document beside them.
    let page = b.get(&path).await;
    let form = between(
        &page.text,
        "<legend>Documenti da fornire</legend>",
        "</fieldset>",
    );
    assert!(
        form.contains("name=\"documenti\" value=\"mandato\""),
        "{form}"
    );
    assert!(form.contains("name=\"documenti\" value=\"isee\""), "{form}");
    assert!(form.contains("Attestazione ISEE valida"), "{form}");
    assert!(form.contains("(obbligatorio)"), "{form}");
    assert!(form.contains("Facoltativa: senza ISEE"), "{form}");
    assert!(form.contains("name=\"altro_codice\"") && form.contains("name=\"altro_descrizione\""));
    assert!(page.text.contains("id=\"nessun-documento\""));
    // The form's mandate copy is there: no warning.
    assert!(!page.text.contains("Mandato mancante"));

    // Bad documents are refused in Italian, and nothing is asked.
    let message = ("messaggio", "Servono due documenti.");
    let bad = b
        .act(
            &path,
            &action(&id, "integrazione"),
            &[message, ("altro_codice", "Contratto!")],
        )
        .await;
    bad.assert_shows(StatusCode::BAD_REQUEST, "Il codice di un documento");
    let undescribed = b
        .act(
            &path,
            &action(&id, "integrazione"),
            &[message, ("altro_codice", "contratto_locazione")],
        )
        .await;
    undescribed.assert_shows(StatusCode::BAD_REQUEST, "Descrivi ogni documento");

    // A checklist entry and a document of the operator's own.
    b.act(
        &path,
        &action(&id, "integrazione"),
        &[
            message,
            ("documenti", "isee"),
            ("altro_codice", "contratto_locazione"),
            ("altro_descrizione", "Contratto di affitto registrato"),
        ],
    )
    .await
    .assert_redirect(&format!("{path}?fatto=integrazione"));
    let asked = app.get(&format!("/richiesta/{id}")).await;
    let codici: Vec<&str> = asked.assert_ok()["integrazione"]["documenti"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["codice"].as_str().unwrap())
        .collect();
    assert_eq!(codici, ["isee", "contratto_locazione"]);
    let waiting = b.get(&path).await;
    let list = between(&waiting.text, "<ul id=\"documenti-chiesti\">", "</ul>");
    assert!(list.contains("Attestazione ISEE valida"), "{list}");
    assert!(list.contains("Contratto di affitto registrato"), "{list}");
    assert_eq!(list.matches("non ancora fornito").count(), 2, "{list}");

    // The client supplies one by the API: the page shows it arrived, with a working download.
    let lease = pdf("contratto di locazione");
    app.post(
        &format!("/richiesta/{id}/documenti"),
        json!({"codice": "contratto_locazione", "file": format!("contratto.pdf|data:application/pdf;base64,{}", b64(&lease))}),
    )
    .await
    .assert_ok();
    let one = b.get(&path).await;
    let list = between(&one.text, "<ul id=\"documenti-chiesti\">", "</ul>");
    let lease_item = between(list, "data-codice=\"contratto_locazione\"", "</li>");
    assert!(
        lease_item.contains("<strong>fornito</strong>"),
        "{lease_item}"
    );
    assert_eq!(list.matches("non ancora fornito").count(), 1, "{list}");
    let table = between(&one.text, "<table id=\"documenti\">", "</table>");
    assert!(table.contains("contratto.pdf"), "{table}");
    // A document of the operator's own is named as it was asked.
    let lease_row = between(table, "data-codice=\"contratto_locazione\"", "</tr>");
    assert!(
        lease_row.contains("Contratto di affitto registrato"),
        "{lease_row}"
    );
    assert!(table.contains(&format!("{} byte", lease.len())), "{table}");
    assert!(one.text.contains("documento fornito dal cliente"));
    let link = document_link(&one.text, "contratto_locazione");
    assert!(link.starts_with(&format!("{path}/file/")), "{link}");
    let download = b.get(&link).await;
    assert_eq!(download.status, StatusCode::OK);
    assert_eq!(download.text, String::from_utf8_lossy(&lease));
    let audit = app
        .state
        .store
        .audit_entries(0, 1000, Some(&id))
        .await
        .unwrap();
    assert!(audit.iter().any(|e| e.event.action == "download_file"));

    // The second one: a checklist entry, named by the checklist; the request is back in the
    // queue.
    app.post(
        &format!("/richiesta/{id}/documenti"),
        json!({"codice": "isee", "file": b64(&pdf("isee"))}),
    )
    .await
    .assert_ok();
    let back = b.get(&path).await;
    assert!(back.text.contains("<dd id=\"stato\">In erogazione</dd>"));
    let table = between(&back.text, "<table id=\"documenti\">", "</table>");
    let isee = between(table, "data-codice=\"isee\"", "</tr>");
    assert!(isee.contains("Attestazione ISEE valida"), "{isee}");
    assert!(back.text.contains("integrazione fornita"));
}

#[tokio::test]
async fn a_missing_mandate_is_shown_asked_in_one_click_and_blocks_the_close() {
    let app = TestApp::spawn().await;
    let (_, live) = app.funded_client("azienda", "100").await;
    let submit = |token: String, with_mandate: bool| {
        let app = &app;
        async move {
            let mut form = assegno_form();
            if !with_mandate {
                form.remove("$7");
            }
            app.call(
                Method::POST,
                "/richiesta",
                &token,
                Some(json!({"hash_visura": ASSEGNO, "json_visura": form})),
            )
            .await
            .assert_ok()["_id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let id = submit(live.clone(), false).await;
    let with_copy = submit(live.clone(), true).await;
    // Test requests are worked by the sandbox, which needs no mandate.
    let test = submit(app.test_token.clone(), false).await;
    let family = app.submit_valid(FAMIGLIA).await;

    let mut b = logged_in_operator(&app).await;
    let queue = b.get("/backoffice/coda").await;
    assert!(queue_row(&queue.text, &id).contains("Mandato mancante"));
    for other in [&with_copy, &family] {
        assert!(!queue_row(&queue.text, other).contains("Mandato mancante"));
    }
    // (The sandbox may have worked it already: then it is not listed at all.)
    if queue.text.contains(&format!("data-id=\"{test}\"")) {
        assert!(!queue_row(&queue.text, &test).contains("Mandato mancante"));
    }

    // The page says why; the button comes with the request taken.
    let path = page_of(&id);
    let page = b.get(&path).await;
    let warning = between(&page.text, "id=\"mandato-mancante\"", "</section>");
    assert!(warning.contains("Mandato mancante"), "{warning}");
    assert!(
        warning.contains("non può essere chiusa come evasa"),
        "{warning}"
    );
    assert!(!warning.contains("chiedi-mandato"), "{warning}");
    b.act(&path, &action(&id, "prendi"), &[]).await;
    let taken = b.get(&path).await;
    assert!(taken.text.contains("id=\"chiedi-mandato\""));

    // With a result, the close is refused in Italian.
    let csrf = taken.csrf();
    b.upload(&action(&id, "risultati"), &csrf, "esito.pdf", &pdf("esito"))
        .await
        .assert_redirect(&format!("{path}?fatto=risultato"));
    let refused = b.act(&path, &action(&id, "chiudi"), &[]).await;
    refused.assert_shows(StatusCode::CONFLICT, "Mandato mancante: chiedi al cliente");

    // One click asks the client for it, with where to get it.
    b.act(&path, &action(&id, "chiedi-mandato"), &[])
        .await
        .assert_redirect(&format!("{path}?fatto=mandato"));
    let asked = app
        .call(Method::GET, &format!("/richiesta/{id}"), &live, None)
        .await;
    let integrazione = asked.assert_ok()["integrazione"].clone();
    assert_eq!(
        asked.assert_ok()["stato_richiesta"],
        "In attesa di integrazione"
    );
    assert_eq!(integrazione["documenti"][0]["codice"], "mandato");
    assert_eq!(integrazione["campi"], json!([]));
    let messaggio = integrazione["messaggio"].as_str().unwrap();
    assert!(
        messaggio.contains(&format!("GET /richiesta/{id}/mandato")),
        "{messaggio}"
    );
    let waiting = b.get(&format!("{path}?fatto=mandato")).await;
    assert!(waiting.text.contains("Mandato chiesto al cliente"));
    let list = between(&waiting.text, "<ul id=\"documenti-chiesti\">", "</ul>");
    assert!(list.contains("data-codice=\"mandato\"") && list.contains("non ancora fornito"));
    // Asked once: the page says so instead of offering a second click.
    assert!(waiting.text.contains("id=\"mandato-chiesto\""));
    assert!(!waiting.text.contains("id=\"chiedi-mandato\""));

    // The client uploads the signed mandate: back in the queue, no warning, and it closes.
    app.call(
        Method::POST,
        &format!("/richiesta/{id}/documenti"),
        &live,
        Some(json!({"codice": "mandato", "file": b64(&pdf("mandato firmato"))})),
    )
    .await
    .assert_ok();
    let queue = b.get("/backoffice/coda").await;
    assert!(!queue_row(&queue.text, &id).contains("Mandato mancante"));
    let page = b.get(&path).await;
    assert!(page.text.contains("<dd id=\"stato\">In erogazione</dd>"));
    assert!(!page.text.contains("Mandato mancante"));
    assert!(document_link(&page.text, "mandato").starts_with(&format!("{path}/file/")));
    b.act(&path, &action(&id, "chiudi"), &[])
        .await
        .assert_redirect(&format!("{path}?fatto=chiusa"));

    // A malformed id is not a request: 404, nothing asked.
    let csrf = b.get(&path).await.csrf();
    let bad = b
        .post(&action("nonesiste", "chiedi-mandato"), &[("csrf", &csrf)])
        .await;
    assert_eq!(bad.status, StatusCode::NOT_FOUND);
}
