//! Rendering pages and failures: every failure of the back office is an Italian page (or a
//! redirect to the login), never JSON and never a value the user typed.

use askama::Template;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use sportello_store::StoreError;

use crate::body::operator::Invalid;
use crate::body::{self, BodyLimit, ReadError};
use crate::error::{ApiError, Cause};
use crate::service::accounts::PasswordError;
use crate::state::AppState;

#[derive(Debug)]
pub enum PageError {
    NotLoggedIn,
    NotFound,
    AdminOnly,
    Csrf,
    /// A refusal with its status and an Italian message for the user.
    Refused(StatusCode, String),
    Internal,
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "back office: store failure");
        PageError::Internal
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        tracing::error!(error = %e, "back office: template failure");
        PageError::Internal
    }
}

impl From<PasswordError> for PageError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::TooShort => PageError::Refused(
                StatusCode::BAD_REQUEST,
                format!(
                    "La password deve avere almeno {} caratteri.",
                    crate::service::accounts::MIN_PASSWORD_CHARS
                ),
            ),
            PasswordError::NoSuchAccount => PageError::NotFound,
            PasswordError::Hashing => PageError::Internal,
            PasswordError::Store(e) => e.into(),
        }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e.status {
            StatusCode::NOT_FOUND => PageError::NotFound,
            s if s.is_server_error() => PageError::Internal,
            s => PageError::Refused(s, italian(&e)),
        }
    }
}

/// The service layer speaks English to API clients; operators read Italian, worded from the
/// failure's cause by exhaustive matches (see [`Cause`]).
fn italian(e: &ApiError) -> String {
    match e.cause {
        Some(Cause::Refused(r)) => return r.italian().into(),
        Some(Cause::Invalid(i)) => return i.italian().into(),
        None => {}
    }
    if e.status == StatusCode::PRECONDITION_FAILED {
        // A file refused by its validator: its details name the reason, never the content.
        let why: Vec<&str> = e.details.iter().map(|d| d.codice.as_str()).collect();
        return format!(
            "Il file non è stato accettato ({}): sono ammessi PDF, JPEG e PNG entro i limiti di dimensione.",
            why.join(", ")
        );
    }
    if e.status == StatusCode::PAYLOAD_TOO_LARGE {
        return "Il file è troppo grande.".into();
    }
    "L'azione non è consentita nello stato attuale della richiesta.".into()
}

impl From<Invalid> for PageError {
    fn from(i: Invalid) -> Self {
        PageError::Refused(StatusCode::BAD_REQUEST, i.italian().into())
    }
}

#[derive(Template)]
#[template(path = "backoffice/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = ErrorPage { title, message }
        .render()
        .unwrap_or_else(|_| "Errore".to_string());
    (status, Html(body)).into_response()
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::NotLoggedIn => Redirect::to("/backoffice/login").into_response(),
            PageError::NotFound => error_page(
                StatusCode::NOT_FOUND,
                "Non trovato",
                "La pagina o la richiesta cercata non esiste, oppure non è della tua coda.",
            ),
            PageError::AdminOnly => error_page(
                StatusCode::FORBIDDEN,
                "Accesso riservato",
                "Questa pagina è riservata agli amministratori.",
            ),
            PageError::Csrf => error_page(
                StatusCode::FORBIDDEN,
                "Modulo scaduto",
                "Il modulo non è più valido (sessione cambiata o pagina vecchia). Ricarica la pagina e riprova.",
            ),
            PageError::Refused(status, message) => {
                error_page(status, "Azione non consentita", &message)
            }
            PageError::Internal => error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Errore interno",
                "Si è verificato un errore. Riprova tra poco; se il problema continua, avvisa l'amministratore.",
            ),
        }
    }
}

pub type PageResult<T = Response> = Result<T, PageError>;

/// A back office address asked with a method it does not answer (a link to an action, a form
/// posted to a page): the back office's own error page, not the API's JSON.
pub async fn method_not_allowed() -> Response {
    error_page(
        StatusCode::METHOD_NOT_ALLOWED,
        "Azione non disponibile",
        "Questa pagina non si usa così: torna indietro e usa i link e i pulsanti della pagina.",
    )
}

/// An HTML page from a template.
pub fn html<T: Template>(page: T) -> PageResult {
    Ok(Html(page.render()?).into_response())
}

/// After a successful form: back to a page with GET (303).
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// An `application/x-www-form-urlencoded` body as name/value pairs (repeated names kept). The
/// body is read within [`crate::body::FORM_BYTES`] before it is split, so even a form of empty
/// pairs (`=&=&…`) makes a few hundred kilobytes of pairs at most.
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A trimmed, non-empty value.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }
}

/// What a back-office form is read into: the typed input of a use case, parsed at this edge
/// with the same rules as the operator API's JSON (see [`crate::body::operator`]).
pub trait FromForm: Sized {
    /// How large a body the form may send: most forms are a few short fields; a form carrying a
    /// provider's notice or mandate says [`BodyLimit::Paperwork`].
    const LIMIT: BodyLimit = BodyLimit::Form;

    fn from_form(form: FormData) -> Result<Self, PageError>;
}

/// The fields as they came, for forms read field by field.
impl FromForm for FormData {
    fn from_form(form: FormData) -> Result<Self, PageError> {
        Ok(form)
    }
}

/// A form that carries nothing but its CSRF token (a button).
impl FromForm for () {
    fn from_form(_: FormData) -> Result<Self, PageError> {
        Ok(())
    }
}

impl FromRequest<AppState> for FormData {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        FormData::read(req, state, BodyLimit::Form).await
    }
}

impl FormData {
    /// The form of `req`, read within `limit`.
    pub async fn read(req: Request, state: &AppState, limit: BodyLimit) -> Result<Self, PageError> {
        let unreadable = || {
            PageError::Refused(
                StatusCode::BAD_REQUEST,
                "Il modulo inviato non è leggibile.".into(),
            )
        };
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(unreadable());
        }
        let limit = limit.bytes(&state.limits);
        let (parts, body) = req.into_parts();
        let bytes = body::read(&parts.headers, body, limit)
            .await
            .map_err(|e| match e {
                ReadError::TooLarge => PageError::Refused(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Il modulo inviato è troppo grande.".into(),
                ),
                ReadError::Broken => unreadable(),
            })?;
        Ok(FormData(
            url::form_urlencoded::parse(&bytes).into_owned().collect(),
        ))
    }
}

/// Unix seconds as the back office shows them: Italian time.
pub fn when(unix: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(unix, 0)
        .map(|t| {
            t.with_timezone(&sportello_domain::calendar::ROME)
                .format("%d/%m/%Y %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// Working seconds as "2 g 3 h 10 min" (a working day here is 24 working hours, as the SLA
/// counts them), with "scaduta da" when negative.
pub fn duration(seconds: i64) -> String {
    let abs = seconds.unsigned_abs();
    let (d, h, m) = (abs / 86_400, abs % 86_400 / 3600, abs % 3600 / 60);
    let text = match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} g {h} h"),
    };
    if seconds < 0 {
        format!("scaduta da {text}")
    } else {
        text
    }
}
