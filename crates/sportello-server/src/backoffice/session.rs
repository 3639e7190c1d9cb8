//! The back office's session cookie, the logged-in person (`Staff`) and the CSRF check, made
//! structural by [`CsrfForm`]: a handler that takes a form gets it only once its token matched.
//!
//! The cookie is always `HttpOnly` and `SameSite=Strict`; over TLS (or when configured) it is
//! `Secure` and named with the `__Host-` prefix, so no other origin or path can plant it — and
//! then only the `__Host-` names are read: a plain-named cookie planted by a sibling subdomain
//! or over plain HTTP (session fixation, login CSRF) is ignored.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use sportello_store::{ProviderRecord, Role, SessionRecord, TokenRecord};

use super::page::{FormData, FromForm, PageError};
use crate::auth::OperatorCaller;
use crate::service::accounts::{self, Account};
use crate::service::passwords;
use crate::state::AppState;

const SECURE_NAME: &str = "__Host-sportello_sessione";
const PLAIN_NAME: &str = "sportello_sessione";
/// The login form's own anti-forgery cookie (there is no session yet to tie a token to).
const LOGIN_SECURE_NAME: &str = "__Host-sportello_login";
const LOGIN_PLAIN_NAME: &str = "sportello_login";

/// Whether cookies must be `Secure`: configured, or the request arrived over TLS at a proxy.
pub fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.limits.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The names a cookie is read under: in secure mode only the `__Host-` one.
fn accepted<'a>(secure: bool, names: (&'a str, &'a str)) -> Vec<&'a str> {
    if secure {
        vec![names.0]
    } else {
        vec![names.0, names.1]
    }
}

fn cookie(headers: &HeaderMap, names: &[&str]) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| names.contains(name))
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn set_cookie(secure: bool, names: (&str, &str), value: &str, max_age: Option<i64>) -> HeaderValue {
    let name = if secure { names.0 } else { names.1 };
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if secure {
        text.push_str("; Secure");
    }
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={age}"));
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("x=; Max-Age=0"))
}

pub fn session_cookie(secure: bool, id: &str) -> HeaderValue {
    // No Max-Age: a browser session cookie; the server enforces idle and absolute expiry.
    set_cookie(secure, (SECURE_NAME, PLAIN_NAME), id, None)
}

pub fn clear_session_cookie(secure: bool) -> HeaderValue {
    set_cookie(secure, (SECURE_NAME, PLAIN_NAME), "", Some(0))
}

pub fn login_cookie(secure: bool, token: &str) -> HeaderValue {
    set_cookie(
        secure,
        (LOGIN_SECURE_NAME, LOGIN_PLAIN_NAME),
        token,
        Some(3600),
    )
}

pub fn login_token(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let names = accepted(
        secure(state, headers),
        (LOGIN_SECURE_NAME, LOGIN_PLAIN_NAME),
    );
    cookie(headers, &names)
}

/// The person logged in to the back office.
#[derive(Debug, Clone)]
pub struct Staff {
    pub session: SessionRecord,
    pub account: Account,
    pub source: Option<String>,
}

impl Staff {
    pub fn is_admin(&self) -> bool {
        matches!(self.account, Account::Admin(_))
    }

    pub fn csrf(&self) -> &str {
        &self.session.csrf
    }

    /// The operator, as the service layer knows callers; admins are refused (404: the operator
    /// pages do not exist for them).
    pub fn operator(&self) -> Result<OperatorCaller, PageError> {
        let Account::Operator(op, provider) = &self.account else {
            return Err(PageError::NotFound);
        };
        Ok(operator_caller(
            op.clone(),
            provider.as_ref().clone(),
            self.source.clone(),
        ))
    }

    /// Refuses anyone but an admin.
    pub fn admin(&self) -> Result<(), PageError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(PageError::AdminOnly)
        }
    }

    /// Forms must carry the session's synchronizer token. Forms read whole get this from
    /// [`CsrfForm`]; only the streamed upload, which reads its token before the file, calls it.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), PageError> {
        match sent {
            Some(token) if passwords::same_secret(token, &self.session.csrf) => Ok(()),
            _ => Err(PageError::Csrf),
        }
    }

    pub fn actor(&self) -> String {
        self.account.key()
    }
}

/// The service layer's operator caller, for a session instead of a bearer token. The token
/// record is a stand-in: the operator use cases read the operator, its provider and the source.
fn operator_caller(
    operator: sportello_store::OperatorRecord,
    provider: ProviderRecord,
    source: Option<String>,
) -> OperatorCaller {
    OperatorCaller {
        token: TokenRecord {
            id: "backoffice-session".into(),
            role: Role::Operator,
            client_id: None,
            operator_id: Some(operator.id.clone()),
            label: "back office".into(),
            scopes: Vec::new(),
            live: true,
            expires_at: None,
            revoked_at: None,
            created_at: operator.created_at,
        },
        operator,
        provider,
        source,
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let names = accepted(secure(state, &parts.headers), (SECURE_NAME, PLAIN_NAME));
        let Some(id) = cookie(&parts.headers, &names) else {
            return Err(PageError::NotLoggedIn);
        };
        let (session, account) = accounts::resume(state, &id)
            .await?
            .ok_or(PageError::NotLoggedIn)?;
        let Source(source) = Source::of(parts);
        Ok(Staff {
            session,
            account,
            source,
        })
    }
}

/// A form posted by the logged-in person, read (within `T`'s body limit) only once the
/// session is resumed, then checked against the session's CSRF token, then parsed into `T`: in
/// that order, so a forged or stale form is refused before anything it says is looked at.
pub struct CsrfForm<T>(pub Staff, pub T);

impl<T: FromForm> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let (mut parts, body) = req.into_parts();
        let staff = Staff::from_request_parts(&mut parts, state).await?;
        let form = FormData::read(Request::from_parts(parts, body), state, T::LIMIT).await?;
        staff.check_csrf(form.get("csrf"))?;
        Ok(CsrfForm(staff, T::from_form(form)?))
    }
}

/// The caller's address (behind a trusted proxy, the client's), for the audit trail and the
/// lock-out (absent when served without connection info).
pub struct Source(pub Option<String>);

impl Source {
    fn of(parts: &Parts) -> Source {
        Source(crate::client_addr::ClientAddr::of(&parts.extensions).map(|ip| ip.to_string()))
    }
}

impl FromRequestParts<AppState> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Source::of(parts))
    }
}
