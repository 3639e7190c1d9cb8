//! Back-office authentication under attack, over HTTP: parallel guesses against the lock-out,
//! the per-source limit, a locked administrator getting in with the second factor, TOTP codes
//! used once, re-enrolment needing the factor, `__Host-` cookies only in secure mode, and the
//! API staying responsive while passwords are being hashed.
#![allow(clippy::unwrap_used)]

use crate::backoffice::{admin, demo_operator, Browser, PASSWORD};
use crate::common::*;
use futures::future::join_all;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use sportello_server::service::totp;
use sportello_server::{Clock, Limits};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A login form as a script gets it: its anti-forgery cookie (`name=value`) and token.
async fn login_form(app: &TestApp, http: &reqwest::Client) -> (String, String) {
    let page = http
        .get(format!("{}/backoffice/login", app.base))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let text = page.text().await.unwrap();
    let at = text.find("name=\"csrf\" value=\"").unwrap() + 19;
    let csrf = text[at..].split('"').next().unwrap().to_string();
    (cookie, csrf)
}

/// `n` logins to `email` sent at once (one form, reused), and the status of each.
async fn parallel_logins(app: &TestApp, email: &str, password: &str, n: usize) -> Vec<StatusCode> {
    parallel_logins_with(app, &[("email", email), ("password", password)], n).await
}

/// `n` login forms with `fields` sent at once, and the status of each.
async fn parallel_logins_with(app: &TestApp, fields: &[(&str, &str)], n: usize) -> Vec<StatusCode> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (cookie, csrf) = login_form(app, &http).await;
    let url = format!("{}/backoffice/login", app.base);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let logins = (0..n).map(|_| http.post(&url).header(COOKIE, &cookie).form(&form).send());
    join_all(logins)
        .await
        .into_iter()
        .map(|r| r.unwrap().status())
        .collect()
}

fn count(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

fn now(app: &TestApp) -> u64 {
    u64::try_from(app.clock.now()).unwrap()
}

fn secret_of(page: &crate::backoffice::Page) -> String {
    page.assert_shows(StatusCode::OK, "id=\"chiave-totp\"");
    let at = page.text.find("id=\"chiave-totp\">").unwrap() + 17;
    page.text[at..].split('<').next().unwrap().to_string()
}

async fn confirm(app: &TestApp, browser: &mut Browser, secret: &str, csrf: &str) {
    let code = totp::code_at(secret, now(app)).unwrap();
    browser
        .post(
            "/backoffice/account/totp/conferma",
            &[("csrf", csrf), ("codice", &code)],
        )
        .await
        .assert_redirect("/backoffice/account?fatto=attivata");
}

/// Turns the second factor on for the logged-in `browser`; returns its base32 secret. The
/// confirming code uses up the current time step.
async fn enabled_totp(app: &TestApp, browser: &mut Browser) -> String {
    let page = browser.get("/backoffice/account").await;
    let csrf = page.csrf();
    let started = browser
        .post("/backoffice/account/totp/inizia", &[("csrf", &csrf)])
        .await;
    let secret = secret_of(&started);
    confirm(app, browser, &secret, &csrf).await;
    secret
}

/// A login with a second-factor code.
async fn login_with_code(
    browser: &mut Browser,
    email: &str,
    password: &str,
    code: &str,
) -> crate::backoffice::Page {
    let csrf = browser.get("/backoffice/login").await.csrf();
    browser
        .post(
            "/backoffice/login",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", password),
                ("codice", code),
            ],
        )
        .await
}

// --- the lock-out, race-free ---

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_parallel_wrong_passwords_get_five_checks_and_the_rest_429() {
    let app = TestApp::spawn().await;
    let email = demo_operator(&app).await;
    let statuses = parallel_logins(&app, &email, "not the password at all", 40).await;
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        count(&statuses, StatusCode::TOO_MANY_REQUESTS),
        35,
        "{statuses:?}"
    );
    // The address is locked: even its password is refused now.
    let mut b = Browser::new(&app);
    let locked = b.try_login(&email, PASSWORD).await;
    locked.assert_shows(StatusCode::TOO_MANY_REQUESTS, "bloccato per 15 minuti");

    // An address with no account gets exactly the same answers.
    let unknown = parallel_logins(&app, "nessuno@example.com", PASSWORD, 40).await;
    assert_eq!(count(&unknown, StatusCode::UNAUTHORIZED), 5, "{unknown:?}");
    assert_eq!(
        count(&unknown, StatusCode::TOO_MANY_REQUESTS),
        35,
        "{unknown:?}"
    );
    let page = b.try_login("nessuno@example.com", PASSWORD).await;
    assert_eq!(
        page.text.replace(&page.csrf(), ""),
        locked.text.replace(&locked.csrf(), "")
    );
}

#[tokio::test]
async fn a_source_that_keeps_failing_is_locked_out_whatever_the_address() {
    let app = TestApp::spawn().await;
    let email = demo_operator(&app).await;
    // Twenty failures (the default) over four addresses, none of them the operator's.
    for who in ["a", "b", "c", "d"] {
        let statuses = parallel_logins(
            &app,
            &format!("{who}@example.com"),
            "wrong password here",
            5,
        )
        .await;
        assert_eq!(
            count(&statuses, StatusCode::UNAUTHORIZED),
            5,
            "{statuses:?}"
        );
    }
    let mut b = Browser::new(&app);
    let refused = b.try_login(&email, PASSWORD).await;
    refused.assert_shows(StatusCode::TOO_MANY_REQUESTS, "da questa rete");
    app.clock.advance(15 * 60 + 1);
    b.login(&email, PASSWORD).await;
}

#[tokio::test]
async fn without_a_source_limit_only_the_address_locks() {
    let app = TestApp::spawn_with(Limits {
        login_failures_per_source: 0,
        ..Limits::default()
    })
    .await;
    let email = demo_operator(&app).await;
    for who in ["a", "b", "c", "d", "e"] {
        parallel_logins(
            &app,
            &format!("{who}@example.com"),
            "wrong password here",
            5,
        )
        .await;
    }
    Browser::new(&app).login(&email, PASSWORD).await;
}

// --- a locked administrator, the second factor ---

#[tokio::test]
async fn a_locked_administrator_gets_in_with_the_password_and_a_fresh_code() {
    let app = TestApp::spawn().await;
    let email = admin(&app).await;
    let mut own = Browser::new(&app);
    own.login(&email, PASSWORD).await;
    let secret = enabled_totp(&app, &mut own).await;

    // Someone guesses at the address until it locks.
    let guesses = parallel_logins(&app, &email, "not the password at all", 10).await;
    assert_eq!(
        count(&guesses, StatusCode::TOO_MANY_REQUESTS),
        5,
        "{guesses:?}"
    );

    let mut b = Browser::new(&app);
    // The password alone, or with a wrong code, does not get through the lock.
    b.try_login(&email, PASSWORD)
        .await
        .assert_shows(StatusCode::TOO_MANY_REQUESTS, "bloccato per 15 minuti");
    let current = totp::code_at(&secret, now(&app)).unwrap();
    let wrong = if current == "000000" {
        "111111"
    } else {
        "000000"
    };
    let page = login_with_code(&mut b, &email, PASSWORD, wrong).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    // A right code with a wrong password: refused, and the code is used up.
    app.clock.advance(30);
    let code = totp::code_at(&secret, now(&app)).unwrap();
    let page = login_with_code(&mut b, &email, "not the password at all", &code).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    let page = login_with_code(&mut b, &email, PASSWORD, &code).await;
    assert_eq!(
        page.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a used code got through"
    );

    // The password with the next code gets in, and ends the lock.
    app.clock.advance(30);
    let code = totp::code_at(&secret, now(&app)).unwrap();
    login_with_code(&mut b, &email, PASSWORD, &code)
        .await
        .assert_redirect("/backoffice");
    assert_eq!(b.get("/backoffice/admin").await.status, StatusCode::OK);
    let again = Browser::new(&app)
        .try_login(&email, "wrong password again")
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);

    // A locked address with no account answers the same to a password with a code.
    parallel_logins(&app, "nessuno@example.com", PASSWORD, 5).await;
    let page = login_with_code(&mut b, "nessuno@example.com", PASSWORD, &code).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_totp_code_is_accepted_once() {
    let app = TestApp::spawn().await;
    let email = demo_operator(&app).await;
    let mut own = Browser::new(&app);
    own.login(&email, PASSWORD).await;
    let secret = enabled_totp(&app, &mut own).await;

    // The code that confirmed the set-up is used.
    let confirming = totp::code_at(&secret, now(&app)).unwrap();
    let page = login_with_code(&mut Browser::new(&app), &email, PASSWORD, &confirming).await;
    page.assert_shows(
        StatusCode::UNAUTHORIZED,
        "Codice di verifica mancante o errato",
    );

    app.clock.advance(30);
    let code = totp::code_at(&secret, now(&app)).unwrap();
    let mut first = Browser::new(&app);
    login_with_code(&mut first, &email, PASSWORD, &code)
        .await
        .assert_redirect("/backoffice");
    // The same code again, within its window: refused, at login and to switch the factor off.
    let replay = login_with_code(&mut Browser::new(&app), &email, PASSWORD, &code).await;
    replay.assert_shows(
        StatusCode::UNAUTHORIZED,
        "Codice di verifica mancante o errato",
    );
    let off = first
        .act(
            "/backoffice/account",
            "/backoffice/account/totp/disattiva",
            &[("codice", &code)],
        )
        .await;
    assert_eq!(off.status, StatusCode::BAD_REQUEST);
    // An earlier code than the last accepted one is refused too.
    app.clock.advance(30);
    let next = totp::code_at(&secret, now(&app)).unwrap();
    login_with_code(&mut Browser::new(&app), &email, PASSWORD, &next)
        .await
        .assert_redirect("/backoffice");
    let page = login_with_code(&mut Browser::new(&app), &email, PASSWORD, &code).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_parallel_logins_with_one_code_open_one_session() {
    let app = TestApp::spawn().await;
    let email = demo_operator(&app).await;
    let mut own = Browser::new(&app);
    own.login(&email, PASSWORD).await;
    let secret = enabled_totp(&app, &mut own).await;
    app.clock.advance(30);
    let code = totp::code_at(&secret, now(&app)).unwrap();
    let statuses = parallel_logins_with(
        &app,
        &[("email", &email), ("password", PASSWORD), ("codice", &code)],
        5,
    )
    .await;
    assert_eq!(count(&statuses, StatusCode::SEE_OTHER), 1, "{statuses:?}");
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        4,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn starting_a_new_enrolment_while_totp_is_on_needs_a_current_code() {
    let app = TestApp::spawn().await;
    let email = demo_operator(&app).await;
    let mut b = Browser::new(&app);
    b.login(&email, PASSWORD).await;
    let secret = enabled_totp(&app, &mut b).await;

    // A stolen session alone cannot replace (and so switch off) the factor.
    let refused = b
        .act(
            "/backoffice/account",
            "/backoffice/account/totp/inizia",
            &[],
        )
        .await;
    refused.assert_shows(StatusCode::BAD_REQUEST, "codice valido");
    b.get("/backoffice/account")
        .await
        .assert_shows(StatusCode::OK, "Attiva: all'accesso serve il codice");
    let page = Browser::new(&app).try_login(&email, PASSWORD).await;
    page.assert_shows(
        StatusCode::UNAUTHORIZED,
        "Codice di verifica mancante o errato",
    );

    // With a current code its owner starts over, with a new key.
    app.clock.advance(30);
    let code = totp::code_at(&secret, now(&app)).unwrap();
    let page = b.get("/backoffice/account").await;
    let csrf = page.csrf();
    let restarted = b
        .post(
            "/backoffice/account/totp/inizia",
            &[("csrf", &csrf), ("codice", &code)],
        )
        .await;
    let new_secret = secret_of(&restarted);
    assert_ne!(new_secret, secret);
    confirm(&app, &mut b, &new_secret, &csrf).await;
    app.clock.advance(30);
    let new_code = totp::code_at(&new_secret, now(&app)).unwrap();
    login_with_code(&mut Browser::new(&app), &email, PASSWORD, &new_code)
        .await
        .assert_redirect("/backoffice");
}

// --- cookies ---

#[tokio::test]
async fn in_secure_mode_only_host_prefixed_cookies_are_read() {
    let app = TestApp::spawn_with(Limits {
        secure_cookies: true,
        ..Limits::default()
    })
    .await;
    let email = demo_operator(&app).await;
    let mut b = Browser::new(&app);
    b.login(&email, PASSWORD).await;
    let id = b.cookies["__Host-sportello_sessione"].clone();
    assert_eq!(b.get("/backoffice/coda").await.status, StatusCode::OK);

    // The same session id under the plain name (as a sibling subdomain could plant it) is no
    // session.
    let mut planted = Browser::new(&app);
    planted.cookies.insert("sportello_sessione".into(), id);
    assert_eq!(
        planted.get("/backoffice/coda").await.location(),
        "/backoffice/login"
    );

    // Nor does the login form take its anti-forgery token from a plain-named cookie.
    let mut form = Browser::new(&app);
    let csrf = form.get("/backoffice/login").await.csrf();
    let token = form.cookies.remove("__Host-sportello_login").unwrap();
    form.cookies.insert("sportello_login".into(), token);
    let page = form
        .post(
            "/backoffice/login",
            &[("csrf", &csrf), ("email", &email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

// --- hashing off the async workers ---

/// On this test's single-threaded runtime the server and the client share one thread: a hash
/// computed on it would hold every other request until it ends. Sixteen failed logins (each a
/// hash, at most one per CPU at a time) are sent, then ten health checks one after the other:
/// the checks are all answered while most logins still wait for their hash.
#[tokio::test]
async fn a_flood_of_logins_does_not_hold_up_the_api() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let (cookie, csrf) = login_form(&app, &http).await;
    let done = Arc::new(AtomicUsize::new(0));
    let url = format!("{}/backoffice/login", app.base);
    let logins: Vec<_> = (0..16)
        .map(|i| {
            let request = http
                .post(&url)
                .header(COOKIE, &cookie)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("email", &format!("flood{i}@example.com")),
                    ("password", "wrong password here"),
                ])
                .send();
            let done = done.clone();
            tokio::spawn(async move {
                let status = request.await.unwrap().status();
                done.fetch_add(1, Ordering::SeqCst);
                status
            })
        })
        .collect();
    tokio::task::yield_now().await;
    let mut seen = Vec::new();
    for _ in 0..10 {
        let health = http
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap();
        assert!(health.status().is_success());
        seen.push(done.load(Ordering::SeqCst));
    }
    for login in logins {
        assert_eq!(login.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    assert!(
        seen.last().is_some_and(|&d| d < 8),
        "logins answered before each health check: {seen:?}"
    );
}
