//! The person's own page (`/compila/{link}`): server-rendered Italian pages, mobile first,
//! every step a plain HTML form (multipart for files), no script; the rules in
//! `service::invitations` and the client's use cases it calls.
//!
//! Invariant: every form carries the CSRF token made from the page's cookie (checked before
//! anything else the form says is read); every view and action is in the audit trail as
//! `person:<invitation id>`; a codice fiscale is never shown in full, except in the field the
//! person is typing it into; a link that does not open shows a short Italian page and nothing
//! else.

pub mod form;
pub mod pages;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::body::BodyLimit;
use crate::error::ApiError;
use crate::service::invitations::{self, Link, Visit, COOKIE};
use crate::state::AppState;
use sportello_domain::invitation::{Closed, SESSION_SECS};

const STYLE: &str = include_str!("../../static/persona.css");

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
}

pub fn routes(state: &AppState) -> Router<AppState> {
    // Forms with files: the form's files plus a little; one document: one file.
    let form_limit = DefaultBodyLimit::max(BodyLimit::Submission.bytes(&state.limits));
    let file_limit = DefaultBodyLimit::max(BodyLimit::Result.bytes(&state.limits));
    Router::new()
        .route("/compila/static/persona.css", get(style))
        .route("/compila/{link}", get(pages::home))
        .route("/compila/{link}/codice", post(pages::enter_code))
        .route("/compila/{link}/codice/nuovo", post(pages::new_code))
        .route(
            "/compila/{link}/informativa",
            get(pages::notice).post(pages::read_notice),
        )
        .route(
            "/compila/{link}/modulo",
            get(form::show).post(form::save).layer(form_limit),
        )
        .route(
            "/compila/{link}/documenti",
            post(form::document).layer(file_limit),
        )
        .route("/compila/{link}/mandato", get(pages::mandate))
        .route("/compila/{link}/mandato.pdf", get(pages::mandate_pdf))
        .route(
            "/compila/{link}/mandato/firmato",
            post(pages::signed_mandate).layer(file_limit),
        )
        .route(
            "/compila/{link}/mandato/accetta",
            post(pages::accept_mandate),
        )
        .route(
            "/compila/{link}/mandato/conferma",
            post(pages::confirm_mandate),
        )
        .route("/compila/{link}/riepilogo", get(pages::summary))
        .route("/compila/{link}/invia", post(pages::submit))
        .route("/compila/{link}/pratica", get(pages::status))
        .route(
            "/compila/{link}/integrazione",
            post(form::integration).layer(form_limit),
        )
        .route("/compila/{link}/risultato", get(pages::result))
        // Before the merge into the API's router, whose 405 is JSON.
        .method_not_allowed_fallback(|| async {
            message(
                StatusCode::METHOD_NOT_ALLOWED,
                "Pagina non disponibile",
                "Questa pagina non si usa così: torna indietro e usa i pulsanti della pagina.",
            )
        })
}

/// A link, opened by a browser: the visit, the cookie's token and whether it is the person's
/// session on this device.
pub struct Person {
    pub visit: Visit,
    pub token: String,
    /// The token was minted for this answer: the answer sets the cookie.
    pub fresh: bool,
    pub verified: bool,
    pub source: Option<String>,
}

impl Person {
    pub fn csrf(&self) -> String {
        invitations::csrf_of(&self.token)
    }

    /// The form's token must be the one made from this device's cookie.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), PersonError> {
        match sent {
            Some(s) if crate::service::passwords::same_secret(s, &self.csrf()) => Ok(()),
            _ => Err(PersonError::Csrf),
        }
    }

    /// The link's request read again, after a change made from this page (this device's
    /// cookie, session and browser kept).
    pub async fn reread(mut self, state: &AppState) -> Result<Person, PersonError> {
        match invitations::find(state, &self.visit.secret).await? {
            Link::Unknown => Err(PersonError::Unknown),
            Link::Closed(c) => Err(PersonError::Closed(c)),
            Link::Open(visit) => {
                let user_agent = self.visit.user_agent.take();
                self.visit = *visit;
                self.visit.user_agent = user_agent;
                Ok(self)
            }
        }
    }

    /// The page's base address (`/compila/<link>`).
    pub fn base(&self) -> String {
        format!("/compila/{}", self.visit.secret)
    }

    /// Pages past the code need the session.
    pub fn require_session(&self) -> Result<(), PersonError> {
        if self.verified {
            Ok(())
        } else {
            Err(PersonError::Redirect(self.base()))
        }
    }

    /// Sets the cookie on `response` when it was minted now (or renews it).
    pub fn finish(&self, state: &AppState, mut response: Response) -> Response {
        if self.fresh || self.verified {
            let secure = if state.limits.secure_cookies {
                "; Secure"
            } else {
                ""
            };
            // Scoped to this link's pages; Lax so that opening the link from the e-mail keeps
            // the session, while another site's forms cannot post with it.
            let cookie = format!(
                "{COOKIE}={}; Path={}; Max-Age={SESSION_SECS}; HttpOnly; SameSite=Lax{secure}",
                self.token,
                self.base()
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        response
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Opens `link` for the browser that sent `headers`.
pub async fn open(
    state: &AppState,
    link: &str,
    headers: &HeaderMap,
    source: Option<String>,
) -> Result<Person, PersonError> {
    match invitations::find(state, link).await? {
        Link::Unknown => Err(PersonError::Unknown),
        Link::Closed(c) => Err(PersonError::Closed(c)),
        Link::Open(mut visit) => {
            visit.user_agent = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().filter(|c| !c.is_control()).take(300).collect());
            let (token, fresh) = match cookie_token(headers) {
                Some(t) => (t, false),
                None => (invitations::new_token(), true),
            };
            let verified = !fresh && invitations::is_session(state, &visit.invitation, &token);
            Ok(Person {
                visit: *visit,
                token,
                fresh,
                verified,
                source,
            })
        }
    }
}

/// The address of the caller, as the audit trail records it.
pub fn source_of(req_parts: &axum::http::request::Parts) -> Option<String> {
    crate::client_addr::ClientAddr::of(&req_parts.extensions).map(|ip| ip.to_string())
}

/// Why a page is not shown.
#[derive(Debug)]
pub enum PersonError {
    Unknown,
    Closed(Closed),
    Csrf,
    /// To another page of the link (303).
    Redirect(String),
    /// A refusal in words for the person.
    Refused(StatusCode, String),
    Internal,
}

impl From<ApiError> for PersonError {
    fn from(e: ApiError) -> Self {
        if e.status.is_server_error() {
            return PersonError::Internal;
        }
        if e.status == StatusCode::NOT_FOUND {
            return PersonError::Unknown;
        }
        if e.status == StatusCode::GONE {
            return PersonError::Closed(Closed::Expired);
        }
        let message = match e.cause {
            Some(crate::error::Cause::Refused(r)) => r.italian().to_string(),
            _ if e.status == StatusCode::PAYMENT_REQUIRED => "Chi ti ha invitato non ha credito \
                sufficiente per inviare la pratica in questo momento: avvisalo, poi riprova."
                .to_string(),
            _ if e.status == StatusCode::PAYLOAD_TOO_LARGE => {
                "Il file è troppo grande.".to_string()
            }
            _ => "Questa azione non è possibile in questo momento.".to_string(),
        };
        PersonError::Refused(e.status, message)
    }
}

impl From<sportello_store::StoreError> for PersonError {
    fn from(e: sportello_store::StoreError) -> Self {
        tracing::error!(error = %e, "person's page: store failure");
        PersonError::Internal
    }
}

impl From<askama::Error> for PersonError {
    fn from(e: askama::Error) -> Self {
        tracing::error!(error = %e, "person's page: template failure");
        PersonError::Internal
    }
}

#[derive(Template)]
#[template(path = "persona/messaggio.html")]
struct Message<'a> {
    title: &'a str,
    message: &'a str,
}

/// A short page with a title and a sentence.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let body = Message {
        title,
        message: text,
    }
    .render()
    .unwrap_or_else(|_| "Errore".to_string());
    (status, Html(body)).into_response()
}

impl IntoResponse for PersonError {
    fn into_response(self) -> Response {
        match self {
            // A revoked or replaced link is unknown too (its hash is no longer stored): the
            // words cover both.
            PersonError::Unknown => message(
                StatusCode::NOT_FOUND,
                "Link non valido",
                "Questo link non è valido o non lo è più (un invito ritirato o sostituito da uno \
                 nuovo non si apre). Controlla di aver copiato l'indirizzo per intero, oppure \
                 chiedi un nuovo invito a chi te lo ha mandato.",
            ),
            PersonError::Closed(Closed::Revoked) => message(
                StatusCode::GONE,
                "Link non più valido",
                "Questo link non è più valido: è stato sostituito o ritirato. Se ti serve, \
                 chiedi un nuovo invito a chi te lo ha mandato.",
            ),
            PersonError::Closed(Closed::Expired) => message(
                StatusCode::GONE,
                "Link scaduto",
                "Questo link è scaduto. Se ti serve ancora, chiedi un nuovo invito a chi te lo \
                 ha mandato.",
            ),
            PersonError::Csrf => message(
                StatusCode::FORBIDDEN,
                "Pagina scaduta",
                "La pagina che hai usato non è più valida (forse è rimasta aperta a lungo). \
                 Torna indietro, ricarica la pagina e riprova.",
            ),
            PersonError::Redirect(to) => {
                (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
            }
            PersonError::Refused(status, text) => message(status, "Non è stato possibile", &text),
            PersonError::Internal => message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Errore",
                "Qualcosa non ha funzionato da parte nostra. Riprova tra qualche minuto.",
            ),
        }
    }
}

pub type PersonResult = Result<Response, PersonError>;

/// After a form: on to a page of the link (303).
pub fn see_other(to: String) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

/// A page rendered, with the cookie set where needed.
pub fn page<T: Template>(
    state: &AppState,
    person: &Person,
    status: StatusCode,
    t: T,
) -> PersonResult {
    let body = t.render()?;
    Ok(person.finish(state, (status, Html(body)).into_response()))
}

/// The request's parts and body, with the link opened (for handlers that read the body
/// themselves: multipart forms).
pub async fn open_request(
    state: &AppState,
    link: &str,
    req: Request,
) -> Result<(Person, Request), PersonError> {
    let (parts, body) = req.into_parts();
    let person = open(state, link, &parts.headers, source_of(&parts)).await?;
    Ok((person, Request::from_parts(parts, body)))
}

/// The steps, as the page's progress list shows them.
pub struct Step {
    pub name: &'static str,
    pub href: String,
    pub current: bool,
}

/// The progress list of a draft's pages, `current` being one of `informativa`, `modulo`,
/// `mandato`, `riepilogo`.
pub fn steps(person: &Person, current: &str) -> Vec<Step> {
    [
        ("informativa", "Chi te lo chiede"),
        ("modulo", "I tuoi dati"),
        ("mandato", "Il mandato"),
        ("riepilogo", "Riepilogo e invio"),
    ]
    .into_iter()
    .map(|(slug, name)| Step {
        name,
        href: format!("{}/{slug}", person.base()),
        current: slug == current,
    })
    .collect()
}
