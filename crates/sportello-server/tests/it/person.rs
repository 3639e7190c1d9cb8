//! The person's own page (issue 18), over HTTP as a browser without JavaScript uses it: the
//! client invites, the invitation and the codes arrive by e-mail (a real SMTP server), the person
//! opens the link, proves it with the code, reads the notice, completes the form, gives the
//! mandate, submits; then answers an operator and downloads the result. And what must not
//! happen: a link opened without its code, a form without its token, a codice fiscale shown in
//! full, a code guessed.
#![allow(clippy::unwrap_used)]

use crate::common::smtp::Smtp;
use crate::common::*;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sportello_server::outbox::{Outbox, OutboxConfig};

const ISEE: &str = "38934ffe45179c4d5b88e2a6b849799a";

/// A page as a browser gets it: status, HTML, where a redirect points.
struct Page {
    status: StatusCode,
    html: String,
    location: Option<String>,
    content_type: String,
    bytes: Vec<u8>,
}

impl Page {
    /// The CSRF token the page's forms carry.
    fn csrf(&self) -> String {
        let at = self
            .html
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no form on the page:\n{}", self.html));
        let rest = &self.html[at + 19..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

/// A browser of one device: no JavaScript, its own cookie, redirects not followed (so each
/// step's answer is seen).
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a str, &'a str, &'a [u8]),
}

impl Browser {
    fn new(base: &str) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent("Mozilla/5.0 (prova)")
                .build()
                .unwrap(),
            base: base.to_string(),
            cookie: None,
        }
    }

    async fn send(&mut self, mut req: reqwest::RequestBuilder) -> Page {
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c.clone());
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        for v in r.headers().get_all("set-cookie") {
            let pair = v.to_str().unwrap().split(';').next().unwrap().to_string();
            self.cookie = Some(pair);
        }
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string());
        let content_type = r
            .headers()
            .get("content-type")
            .map(|c| c.to_str().unwrap().to_string())
            .unwrap_or_default();
        let bytes = r.bytes().await.unwrap().to_vec();
        Page {
            status,
            html: String::from_utf8_lossy(&bytes).into_owned(),
            location,
            content_type,
            bytes,
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(req).await
    }

    async fn post_multipart(&mut self, path: &str, parts: &[Part<'_>]) -> Page {
        let boundary = "----sportello-persona";
        let mut body = Vec::new();
        for p in parts {
            match p {
                Part::Text(name, value) => body.extend_from_slice(
                    format!(
                        "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                    )
                    .as_bytes(),
                ),
                Part::File(name, file, bytes) => {
                    body.extend_from_slice(
                        format!(
                            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/pdf\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                    body.extend_from_slice(bytes);
                    body.extend_from_slice(b"\r\n");
                }
            }
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
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
}

/// A message's text: headers and body, the body decoded (quoted-printable or base64).
fn text_of(raw: &str) -> String {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .unwrap();
    let lower = head.to_ascii_lowercase();
    let body = if lower.contains("content-transfer-encoding: base64") {
        let joined: String = body.split_whitespace().collect();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(joined)
                .unwrap(),
        )
        .unwrap()
    } else if lower.contains("content-transfer-encoding: quoted-printable") {
        let soft = body.replace("=\r\n", "").replace("=\n", "");
        let mut out = Vec::new();
        let b = soft.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'=' && i + 2 < b.len() {
                if let Ok(v) = u8::from_str_radix(&soft[i + 1..i + 3], 16) {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8(out).unwrap()
    } else {
        body.to_string()
    };
    format!("{head}\n\n{body}")
}

/// The messages that arrived for `to`, decoded, once there are at least `n`.
async fn mail_for(smtp: &Smtp, to: &str, n: usize) -> Vec<String> {
    for _ in 0..100 {
        let found: Vec<String> = smtp
            .messages_by_arrival()
            .iter()
            .map(|m| text_of(m))
            .filter(|m| m.contains(&format!("To: {to}")))
            .collect();
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} messages for {to}: {:?}", smtp.messages());
}

/// The last 6-digit code mailed to `to` (the n-th message).
async fn code_for(smtp: &Smtp, to: &str, n: usize) -> String {
    let mails = mail_for(smtp, to, n).await;
    let last = mails
        .iter()
        .rev()
        .find(|m| m.contains("Il tuo codice"))
        .unwrap()
        .clone();
    let at = last.find("è:").unwrap();
    last[at..]
        .split_whitespace()
        .find(|w| w.len() == 6 && w.chars().all(|c| c.is_ascii_digit()))
        .unwrap()
        .to_string()
}

/// The `/compila/…` path in a message.
fn link_in(mail: &str) -> String {
    let at = mail.find("/compila/").unwrap();
    mail[at..at + 9 + 64].to_string()
}

fn outbox(app: &TestApp, smtp: &Smtp) -> Outbox {
    Outbox::new(
        app.state.clone(),
        OutboxConfig {
            smtp: Some(smtp.settings()),
            ..OutboxConfig::default()
        },
    )
}

/// An ISEE draft with the name and surname only, and its invitation by e-mail.
async fn invited(app: &TestApp, token: &str, email: &str) -> String {
    let id = app
        .call(
            Method::POST,
            "/richiesta",
            token,
            Some(json!({"hash_visura": ISEE, "state": 0,
                        "json_visura": {"$0": "Mario", "$1": "Rossi"}})),
        )
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    let answer = app
        .call(
            Method::POST,
            &format!("/richiesta/{id}/invito"),
            token,
            Some(json!({"email": email, "consegna": "email",
                        "messaggio": "Completa la pratica ISEE entro venerdì.",
                        "risultato_visibile": true})),
        )
        .await;
    let invito = &answer.assert_ok()["invito"];
    assert_eq!(invito["stato"], json!("inviato"));
    assert_eq!(invito["consegna"], json!("email"));
    assert!(invito.get("url").is_none(), "mailed: no url in the answer");
    id
}

#[tokio::test]
async fn the_person_completes_signs_and_submits_the_draft_then_follows_it_to_the_result() {
    let smtp = Smtp::start().await;
    let app = TestApp::spawn_with_smtp(smtp.settings()).await;
    let email = "mario.rossi@example.com";
    let id = invited(&app, &app.client_token, email).await;

    // The invitation travels through the outbox: in Italian, the client and the service named,
    // nothing else personal.
    outbox(&app, &smtp).tick().await.unwrap();
    let invitation = mail_for(&smtp, email, 1).await.remove(0);
    assert!(
        invitation.contains("ti chiede di completare la pratica «ISEE»"),
        "{invitation}"
    );
    assert!(
        !invitation.contains("Rossi"),
        "no personal data in the e-mail"
    );
    let link = link_in(&invitation);

    // Without the code the page asks for it, and only for it.
    let mut b = Browser::new(&app.base);
    let informativa = b.get(&format!("{link}/informativa")).await;
    assert_eq!(informativa.status, 303);
    assert_eq!(informativa.location.as_deref(), Some(link.as_str()));
    let first = b.get(&link).await;
    let wrong = b
        .post(
            &format!("{link}/codice"),
            &[("csrf", &first.csrf()), ("codice", "000000")],
        )
        .await;
    let code = code_for(&smtp, email, 2).await;
    if code != "000000" {
        assert_eq!(wrong.status, 400);
        assert!(wrong
            .html
            .contains("Il codice non è giusto. Hai ancora 4 tentativi."));
    }
    let opened = b
        .post(
            &format!("{link}/codice"),
            &[("csrf", &first.csrf()), ("codice", &code)],
        )
        .await;
    assert_eq!(opened.status, 303);
    let r = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(r.data()["invito"]["stato"], json!("aperto"));

    // Who asks and why, with the provider's notice; reading it is a consent.
    let to_notice = b.get(&link).await;
    assert_eq!(to_notice.location, Some(format!("{link}/informativa")));
    let notice = b.get(&format!("{link}/informativa")).await;
    assert_eq!(notice.status, 200);
    assert!(notice.html.contains("CAF Demo"));
    assert!(notice
        .html
        .contains("Completa la pratica ISEE entro venerdì."));
    assert!(notice.html.contains("articolo 14"));
    let read = b
        .post(&format!("{link}/informativa"), &[("csrf", &notice.csrf())])
        .await;
    assert_eq!(read.location, Some(format!("{link}/modulo")));

    // The form: what the client gave read-only, the rest to fill; an invalid codice fiscale is
    // refused in Italian next to its field, the other values kept.
    let form = b.get(&format!("{link}/modulo")).await;
    assert!(form.html.contains("Già inseriti da chi ti ha invitato"));
    assert!(form.html.contains("Mario"));
    assert!(
        !form.html.contains("name=\"c0\""),
        "prefilled: not editable"
    );
    let csrf = form.csrf();
    let refused = b
        .post_multipart(
            &format!("{link}/modulo"),
            &[
                Part::Text("csrf", &csrf),
                Part::Text("c2", "mario.rossi@example.com"),
                Part::Text("c3", "3331234567"),
                Part::Text("c4", "RSSMRA85T10H501X"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(refused.html.contains("errore di battitura"));
    assert!(refused.html.contains("value=\"3331234567\""), "values kept");
    let scan = pdf("carta d'identità");
    let saved = b
        .post_multipart(
            &format!("{link}/modulo"),
            &[
                Part::Text("csrf", &csrf),
                Part::Text("c2", "mario.rossi@example.com"),
                Part::Text("c3", "3331234567"),
                Part::Text("c4", CF),
                Part::File("c5", "carta.pdf", &scan),
                Part::File("c6", "tessera.pdf", &pdf("tessera")),
                Part::File("d_documento_identita", "documento.pdf", &pdf("documento")),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    assert_eq!(saved.location, Some(format!("{link}/mandato")));
    // Back on the form, the codice fiscale is named, masked, never refilled.
    let again = b.get(&format!("{link}/modulo")).await;
    assert!(again.html.contains("RSSMRA•••••••••O"), "{}", again.html);
    assert!(!again.html.contains(CF));

    // The mandate, in full and prefilled; accepted on screen with the name and a second code.
    let mandate = b.get(&format!("{link}/mandato")).await;
    assert!(
        mandate.html.contains("Serve la firma a mano"),
        "the demo CAF wants a signature"
    );
    assert!(mandate.html.contains("Mario"));
    // Prefilled with the person's data, the codice fiscale masked on the page.
    assert!(mandate.html.contains("RSSMRA•••••••••O"));
    assert!(!mandate.html.contains(CF));
    let pdf_page = b.get(&format!("{link}/mandato.pdf")).await;
    assert_eq!(pdf_page.content_type, "application/pdf");
    assert!(pdf_page.bytes.starts_with(b"%PDF"));
    let unticked = b
        .post(
            &format!("{link}/mandato/accetta"),
            &[("csrf", &mandate.csrf()), ("nome", "Mario Rossi")],
        )
        .await;
    assert_eq!(unticked.status, 400);
    assert!(unticked.html.contains("spunta la casella"));
    let other_name = b
        .post(
            &format!("{link}/mandato/accetta"),
            &[
                ("csrf", &mandate.csrf()),
                ("accetto", "1"),
                ("nome", "Luigi Bianchi"),
            ],
        )
        .await;
    assert_eq!(other_name.status, 400);
    // The resend limit (one a minute) counts the acceptance's code too.
    app.clock.advance(61);
    let accepted = b
        .post(
            &format!("{link}/mandato/accetta"),
            &[
                ("csrf", &mandate.csrf()),
                ("accetto", "1"),
                ("nome", "rossi  mario"),
            ],
        )
        .await;
    assert_eq!(accepted.status, 303, "{}", accepted.html);
    let mails = mail_for(&smtp, email, 3).await;
    assert!(mails.iter().any(|m| m.contains("accettare il mandato")));
    let second = code_for(&smtp, email, 3).await;
    let confirmed = b
        .post(
            &format!("{link}/mandato/conferma"),
            &[("csrf", &mandate.csrf()), ("codice", &second)],
        )
        .await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.html);
    let r = app.get(&format!("/richiesta/{id}")).await;
    let consensi = r.data()["consensi"].as_array().unwrap().clone();
    let kinds: Vec<(&str, &str)> = consensi
        .iter()
        .map(|c| (c["tipo"].as_str().unwrap(), c["metodo"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [("informativa", "codice_email"), ("mandato", "codice_email")]
    );
    assert!(consensi
        .iter()
        .all(|c| c["sha256_testo"].as_str().unwrap().len() == 64));
    let codici: Vec<&str> = r.data()["documenti"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["codice"].as_str().unwrap())
        .collect();
    assert_eq!(codici, ["documento_identita", "mandato_fes"]);

    // The summary masks the codice fiscale; "Invia" submits as the client's PUT would.
    let summary = b.get(&format!("{link}/riepilogo")).await;
    assert!(summary.html.contains("RSSMRA•••••••••O"));
    assert!(!summary.html.contains(CF));
    let sent = b
        .post(&format!("{link}/invia"), &[("csrf", &summary.csrf())])
        .await;
    assert_eq!(sent.location, Some(format!("{link}/pratica?inviata=1")));
    let status = b.get(&format!("{link}/pratica?inviata=1")).await;
    assert!(status.html.contains(&id), "the request's id confirmed");
    let r = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(r.data()["stato_richiesta"], json!("In erogazione"));
    assert_eq!(r.data()["invito"]["stato"], json!("completato"));
    let kinds: Vec<String> = app
        .state
        .store
        .events(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        kinds,
        [
            "request.invitation_sent",
            "request.invitation_opened",
            "request.submitted",
            "request.invitation_completed"
        ]
    );

    // An operator asks for a document: the person hears of it and supplies it on the page.
    app.claim(&id).await;
    app.op(
        Method::POST,
        &format!("/operator/requests/{id}/integration"),
        Some(
            json!({"messaggio": "Serve il contratto di affitto registrato.",
                    "documenti": [{"codice": "contratto_locazione",
                                   "descrizione": "Contratto di affitto registrato"}]}),
        ),
    )
    .await
    .assert_ok();
    outbox(&app, &smtp).tick().await.unwrap();
    let asked = mail_for(&smtp, email, 4).await;
    assert!(asked
        .iter()
        .any(|m| m.contains("servono altri dati") && m.contains(&link)));
    let waiting = b.get(&format!("{link}/pratica")).await;
    assert!(waiting
        .html
        .contains("Serve il contratto di affitto registrato."));
    let upload = b
        .post_multipart(
            &format!("{link}/documenti"),
            &[
                Part::Text("csrf", &waiting.csrf()),
                Part::Text("codice", "contratto_locazione"),
                Part::Text("ritorno", "pratica"),
                Part::File("file", "contratto.pdf", &pdf("contratto")),
            ],
        )
        .await;
    assert_eq!(upload.status, 303, "{}", upload.html);
    let r = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(r.data()["stato_richiesta"], json!("In erogazione"));

    // This CAF wants a handwritten mandate: the on-screen acceptance does not let it close…
    app.op(
        Method::POST,
        &format!("/operator/requests/{id}/results"),
        Some(json!({"nome": "attestazione.pdf", "file": b64(&pdf("attestazione"))})),
    )
    .await
    .assert_ok();
    let refused = app
        .op(
            Method::POST,
            &format!("/operator/requests/{id}/close"),
            Some(json!({})),
        )
        .await;
    assert_eq!(refused.error_code(), 922);
    // …until the person uploads the signed scan on the same page.
    let mandate = b.get(&format!("{link}/mandato")).await;
    let signed = b
        .post_multipart(
            &format!("{link}/mandato/firmato"),
            &[
                Part::Text("csrf", &mandate.csrf()),
                Part::File("file", "mandato-firmato.pdf", &pdf("firmato")),
            ],
        )
        .await;
    assert_eq!(signed.status, 303, "{}", signed.html);
    app.op(
        Method::POST,
        &format!("/operator/requests/{id}/close"),
        Some(json!({})),
    )
    .await
    .assert_ok();

    // Processed: the person is told, and downloads the result the client let them see.
    outbox(&app, &smtp).tick().await.unwrap();
    let done = mail_for(&smtp, email, 5).await;
    assert!(done
        .iter()
        .any(|m| m.contains("Puoi scaricare il risultato")));
    let status = b.get(&format!("{link}/pratica")).await;
    assert!(status.html.contains("Completata"));
    let result = b.get(&format!("{link}/risultato")).await;
    assert_eq!(result.status, 200);
    assert_eq!(result.content_type, "application/zip");
    assert!(result.bytes.starts_with(b"PK"));

    // Everything the person did is in the audit trail under the invitation.
    let invito_id = r.data()["invito"]["id"].as_str().unwrap().to_string();
    let admin = app.admin_token().await;
    let audit = app
        .call(
            Method::GET,
            &format!("/admin/audit?request_id={id}&limit=500"),
            &admin,
            None,
        )
        .await;
    let entries = audit.assert_ok().as_array().unwrap().clone();
    let consents: Vec<&str> = entries
        .iter()
        .filter(|e| e["azione"] == json!("person_consent"))
        .map(|e| e["dettaglio"].as_str().unwrap())
        .collect();
    assert_eq!(
        consents.len(),
        3,
        "notice, on-screen mandate, signed mandate: {consents:?}"
    );
    assert!(consents
        .iter()
        .all(|d| d.ends_with("browser: Mozilla/5.0 (prova)")));
    assert!(entries
        .iter()
        .filter(|e| e["azione"] == json!("person_consent"))
        .all(|e| e["origine"] == json!("127.0.0.1")));
    let actors: Vec<String> = audit
        .assert_ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["attore"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        actors
            .iter()
            .filter(|a| **a == format!("person:{invito_id}"))
            .count()
            > 10,
        "{actors:?}"
    );
}

#[tokio::test]
async fn a_link_opens_nothing_without_its_code_its_token_or_its_time() {
    let smtp = Smtp::start().await;
    let app = TestApp::spawn_with_smtp(smtp.settings()).await;
    let email = "m.bianchi@example.com";
    // A test-token draft can be invited too: integrators try the flow for free.
    let id = invited(&app, &app.test_token, email).await;
    let answer = app
        .call(
            Method::POST,
            &format!("/richiesta/{id}/invito"),
            &app.test_token,
            Some(json!({"email": email, "consegna": "link"})),
        )
        .await;
    let url = answer.assert_ok()["invito"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(url.starts_with(&format!("{}/compila/", app.base)), "{url}");
    let link = url.trim_start_matches(&app.base).to_string();
    // The url is in that answer only.
    let read = app
        .call(
            Method::GET,
            &format!("/richiesta/{id}"),
            &app.test_token,
            None,
        )
        .await;
    assert!(read.assert_ok()["invito"].get("url").is_none());

    let mut b = Browser::new(&app.base);
    // Every page but the code's asks for the code first; every form wants its token.
    for page in [
        "informativa",
        "modulo",
        "mandato",
        "mandato.pdf",
        "riepilogo",
        "pratica",
        "risultato",
    ] {
        let p = b.get(&format!("{link}/{page}")).await;
        assert_eq!(p.status, 303, "{page}");
        assert_eq!(p.location.as_deref(), Some(link.as_str()), "{page}");
    }
    let code_page = b.get(&link).await;
    assert_eq!(code_page.status, 200);
    for form in [
        "codice",
        "codice/nuovo",
        "informativa",
        "mandato/accetta",
        "mandato/conferma",
        "invia",
    ] {
        let p = b
            .post(
                &format!("{link}/{form}"),
                &[("csrf", "forged"), ("codice", "123456")],
            )
            .await;
        assert_eq!(p.status, 403, "{form}");
        assert!(p.html.contains("Pagina scaduta"), "{form}");
    }
    // The forms with files need the session before their token is even read.
    for form in ["modulo", "documenti", "mandato/firmato", "integrazione"] {
        let p = b
            .post_multipart(&format!("{link}/{form}"), &[Part::Text("csrf", "forged")])
            .await;
        assert_eq!(p.status, 303, "{form}");
        assert_eq!(p.location.as_deref(), Some(link.as_str()), "{form}");
    }
    // Five wrong codes spend the code; a new one is needed.
    let csrf = code_page.csrf();
    // A link invitation mails nothing until it is opened: the code is the first message.
    let code = code_for(&smtp, email, 1).await;
    let wrong = if code == "111111" { "222222" } else { "111111" };
    for left in (1..5).rev() {
        let p = b
            .post(
                &format!("{link}/codice"),
                &[("csrf", &csrf), ("codice", wrong)],
            )
            .await;
        assert_eq!(p.status, 400);
        assert!(p.html.contains(&format!("{left}")), "{}", p.html);
    }
    let last = b
        .post(
            &format!("{link}/codice"),
            &[("csrf", &csrf), ("codice", wrong)],
        )
        .await;
    assert!(last.html.contains("Troppi tentativi"));
    let spent = b
        .post(
            &format!("{link}/codice"),
            &[("csrf", &csrf), ("codice", &code)],
        )
        .await;
    assert_eq!(spent.status, 400, "the right code no longer opens it");
    // The spent code is gone, so a new one goes at once; asking again while it is pending is a
    // resend, at most once a minute.
    let again = b
        .post(&format!("{link}/codice/nuovo"), &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, 200);
    let soon = b
        .post(&format!("{link}/codice/nuovo"), &[("csrf", &csrf)])
        .await;
    assert_eq!(soon.status, 429);
    assert!(soon.html.contains("puoi chiederne un altro tra"));
    let fresh = code_for(&smtp, email, 2).await;
    let opened = b
        .post(
            &format!("{link}/codice"),
            &[("csrf", &csrf), ("codice", &fresh)],
        )
        .await;
    assert_eq!(opened.status, 303);
    // Another device with the same link still needs its own code.
    let mut other = Browser::new(&app.base);
    assert_eq!(other.get(&format!("{link}/modulo")).await.status, 303);

    // A link that does not exist, or a revoked one, shows a short page and nothing else.
    let unknown = b.get(&format!("/compila/{}", "0".repeat(64))).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.html.contains("Link non valido"));
    assert!(unknown.html.contains("non è valido o non lo è più"));
    app.call(
        Method::DELETE,
        &format!("/richiesta/{id}/invito"),
        &app.test_token,
        None,
    )
    .await
    .assert_ok();
    let revoked = b.get(&format!("{link}/modulo")).await;
    assert_eq!(revoked.status, 404);
    assert!(revoked.html.contains("non è valido o non lo è più"));
    assert!(!revoked.html.contains("Mario"));
    let state = app
        .call(
            Method::GET,
            &format!("/richiesta/{id}"),
            &app.test_token,
            None,
        )
        .await;
    assert_eq!(state.assert_ok()["invito"]["stato"], json!("revocato"));

    // Out of time: a week on, a new invitation's link reads `scaduto` and opens nothing.
    let answer = app
        .call(
            Method::POST,
            &format!("/richiesta/{id}/invito"),
            &app.test_token,
            Some(json!({"email": email, "consegna": "link", "scadenza_giorni": 1})),
        )
        .await;
    let url = answer.assert_ok()["invito"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    app.clock.advance(86_400);
    let expired = b.get(url.trim_start_matches(&app.base)).await;
    assert_eq!(expired.status, 410);
    assert!(expired.html.contains("Link scaduto"));
    let state = app
        .call(
            Method::GET,
            &format!("/richiesta/{id}"),
            &app.test_token,
            None,
        )
        .await;
    assert_eq!(state.assert_ok()["invito"]["stato"], json!("scaduto"));
}

#[tokio::test]
async fn an_invitation_is_refused_when_it_cannot_work() {
    // Without e-mail the person could not get a code.
    let app = TestApp::spawn().await;
    let id = app
        .post(
            "/richiesta",
            json!({"hash_visura": ISEE, "state": 0, "json_visura": {"$0": "Mario"}}),
        )
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"email": "mario@example.com", "consegna": "email"});
    let r = app
        .post(&format!("/richiesta/{id}/invito"), body.clone())
        .await;
    assert_eq!((r.status, r.error_code()), (StatusCode::CONFLICT, 925));

    let smtp = Smtp::start().await;
    let app = TestApp::spawn_with_smtp(smtp.settings()).await;
    let id = app
        .post(
            "/richiesta",
            json!({"hash_visura": ISEE, "state": 0, "json_visura": {"$0": "Mario"}}),
        )
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    for (bad, member) in [
        (json!({"consegna": "email"}), "email"),
        (json!({"email": "mario@", "consegna": "email"}), "email"),
        (
            json!({"email": "mario@example.com", "consegna": "sms"}),
            "consegna",
        ),
        (
            json!({"email": "mario@example.com", "consegna": "link", "scadenza_giorni": 91}),
            "scadenza_giorni",
        ),
        (
            json!({"email": "mario@example.com", "consegna": "link", "risultato_visibile": "sì"}),
            "risultato_visibile",
        ),
        (
            json!({"email": "mario@example.com", "consegna": "link", "messaggio": "x".repeat(501)}),
            "messaggio",
        ),
    ] {
        let r = app.post(&format!("/richiesta/{id}/invito"), bad).await;
        assert_eq!(r.error_code(), 915, "{member}");
        assert_eq!(r.body["details"][0]["campo"], json!(member), "{:#}", r.body);
    }
    // Nothing to revoke yet.
    let r = app
        .call(
            Method::DELETE,
            &format!("/richiesta/{id}/invito"),
            &app.client_token,
            None,
        )
        .await;
    assert_eq!(r.error_code(), 924);
    // Only drafts: a submitted request is the operators' now.
    let submitted = app.submit_valid(ISEE).await;
    let r = app
        .post(&format!("/richiesta/{submitted}/invito"), body)
        .await;
    assert_eq!(r.error_code(), 923);
    // A client cannot claim an on-screen acceptance nobody gave.
    let r = app
        .post(
            &format!("/richiesta/{id}/documenti"),
            json!({"codice": "mandato_fes", "file": b64(&pdf("finto"))}),
        )
        .await;
    assert_eq!(r.error_code(), 915);
    assert_eq!(r.body["details"][0]["codice"], json!("codice_reserved"));
}
