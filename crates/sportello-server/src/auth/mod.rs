//! Bearer tokens: who is calling, for which tenant, with which scopes.
//!
//! Scopes follow the commercial API's `METHOD:host/segment` shape; the host part is ignored
//! (we serve one host), so `GET:/visure`, `GET:visengine2.altravia.com/visure` and `*:/*` all
//! work.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};
use sportello_store::{ClientRecord, OperatorRecord, ProviderRecord, Role, TokenRecord};

use crate::error::ApiError;
use crate::state::AppState;

pub mod cache;

/// The scopes a client token gets unless told otherwise.
pub const CLIENT_SCOPES: [&str; 10] = [
    "GET:/visure",
    "GET:/richiesta",
    "POST:/richiesta",
    "PUT:/richiesta",
    "DELETE:/richiesta",
    "GET:/documento",
    "GET:/consegne",
    "POST:/consegne",
    "GET:/conto",
    "GET:/fornitori",
];

pub const OPERATOR_SCOPES: [&str; 1] = ["*:/operator"];

/// A client (tenant) calling the client API.
#[derive(Debug, Clone)]
pub struct ClientCaller {
    pub token: TokenRecord,
    pub client: ClientRecord,
    /// The peer address, for the audit trail.
    pub source: Option<String>,
    /// Set when the person a practice is about acts on their own page, through the client's
    /// functions: the invitation's id, which the audit trail names instead of a token.
    pub person: Option<String>,
}

impl ClientCaller {
    /// How the audit trail names this caller.
    pub fn actor(&self) -> String {
        match &self.person {
            Some(invitation) => format!("person:{invitation}"),
            None => format!("client:{}/token:{}", self.client.id, self.token.id),
        }
    }
}

/// An operator of a provider calling the operator API.
#[derive(Debug, Clone)]
pub struct OperatorCaller {
    pub token: TokenRecord,
    pub operator: OperatorRecord,
    pub provider: ProviderRecord,
    pub source: Option<String>,
}

impl OperatorCaller {
    pub fn actor(&self) -> String {
        format!("operator:{}", self.operator.id)
    }
}

/// An administrator calling the admin API.
#[derive(Debug, Clone)]
pub struct AdminCaller {
    pub token: TokenRecord,
    pub source: Option<String>,
}

/// The caller's address (behind a trusted proxy, the client's), when the server was started
/// with connection info.
fn source(parts: &Parts) -> Option<String> {
    crate::client_addr::ClientAddr::of(&parts.extensions).map(|ip| ip.to_string())
}

/// The SHA-256 of the bearer secret: what tokens are stored and cached under.
fn bearer_hash(parts: &Parts) -> Result<String, ApiError> {
    let header_value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized(900, "missing Authorization: Bearer token"))?;
    let text = header_value
        .to_str()
        .map_err(|_| ApiError::unauthorized(901, "invalid token"))?;
    // The scheme is case-insensitive (RFC 9110 §11.1): `Bearer`, `bearer`, `BEARER`.
    let secret = text
        .get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("bearer "))
        .and_then(|_| text.get(7..))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::unauthorized(900, "missing Authorization: Bearer token"))?;
    Ok(sportello_store::ids::secret_hash(secret))
}

/// 403/904: a valid token of another role than the route's.
fn wrong_role(expected: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        904,
        format!("this token is not {expected} token"),
    )
}

/// Refuses a revoked or expired token: checked on every call, cached or not.
fn still_valid(token: &TokenRecord, state: &AppState) -> Result<(), ApiError> {
    if token.revoked_at.is_some() {
        return Err(ApiError::unauthorized(903, "this token has been revoked"));
    }
    if token.expires_at.is_some_and(|at| at <= state.clock.now()) {
        return Err(ApiError::unauthorized(902, "this token has expired"));
    }
    Ok(())
}

async fn lookup(hash: &str, state: &AppState) -> Result<TokenRecord, ApiError> {
    let token = state
        .store
        .find_token(hash)
        .await?
        .ok_or_else(|| ApiError::unauthorized(901, "invalid token"))?;
    still_valid(&token, state)?;
    Ok(token)
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<TokenRecord, ApiError> {
    lookup(&bearer_hash(parts)?, state).await
}

/// The scope a call needs: its method and the first segment of its path.
fn required_scope(method: &Method, path: &str) -> (String, String) {
    let segment = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    (method.as_str().to_string(), segment)
}

pub fn scope_allows(scopes: &[String], method: &str, segment: &str) -> bool {
    scopes.iter().any(|scope| {
        let Some((m, rest)) = scope.split_once(':') else {
            return false;
        };
        let seg = rest.rsplit_once('/').map(|(_, s)| s).unwrap_or(rest);
        (m == "*" || m.eq_ignore_ascii_case(method)) && (seg == "*" || seg == segment)
    })
}

fn check_scope(token: &TokenRecord, parts: &Parts) -> Result<(), ApiError> {
    let (method, segment) = required_scope(&parts.method, parts.uri.path());
    if scope_allows(&token.scopes, &method, &segment) {
        Ok(())
    } else {
        Err(ApiError::forbidden_scope(&format!("{method}:/{segment}")))
    }
}

impl FromRequestParts<AppState> for ClientCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let hash = bearer_hash(parts)?;
        let ttl = std::time::Duration::from_secs(state.limits.token_cache_secs);
        let cached = match state.callers.get(&hash, ttl) {
            Some(cached) => cached,
            None => {
                let token = lookup(&hash, state).await?;
                let client = match (token.role, &token.client_id) {
                    (Role::Client, Some(id)) => state
                        .store
                        .get_client(id)
                        .await?
                        .ok_or_else(|| ApiError::unauthorized(901, "invalid token"))?,
                    _ => return Err(wrong_role("a client")),
                };
                let cached = std::sync::Arc::new(cache::Cached { token, client });
                state.callers.put(hash, cached.clone(), ttl);
                cached
            }
        };
        still_valid(&cached.token, state)?;
        check_scope(&cached.token, parts)?;
        let cache::Cached { token, client } = cached.as_ref().clone();
        if token.live {
            // Every authenticated call of a live token is billed (€0.001 + VAT), counted here.
            state
                .meter
                .record(&client.id, &state.clock.today().to_string());
        }
        Ok(ClientCaller {
            token,
            client,
            source: source(parts),
            person: None,
        })
    }
}

impl FromRequestParts<AppState> for OperatorCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = authenticate(parts, state).await?;
        let operator_id = match (token.role, &token.operator_id) {
            (Role::Operator, Some(id)) => id.clone(),
            _ => return Err(wrong_role("an operator")),
        };
        check_scope(&token, parts)?;
        let operator = state
            .store
            .get_operator(&operator_id)
            .await?
            .filter(|o| !o.disabled)
            .ok_or_else(|| ApiError::unauthorized(903, "this operator is disabled"))?;
        let provider = state
            .store
            .get_provider(&operator.provider_id)
            .await?
            .ok_or_else(|| ApiError::unauthorized(901, "invalid token"))?;
        Ok(OperatorCaller {
            token,
            operator,
            provider,
            source: source(parts),
        })
    }
}

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = authenticate(parts, state).await?;
        if token.role != Role::Admin {
            return Err(wrong_role("an admin"));
        }
        check_scope(&token, parts)?;
        Ok(AdminCaller {
            token,
            source: source(parts),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::scope_allows;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn commercial_scopes_ignore_the_host() {
        let scopes = s(&["GET:visengine2.altravia.com/visure"]);
        assert!(scope_allows(&scopes, "GET", "visure"));
        assert!(!scope_allows(&scopes, "POST", "visure"));
        assert!(!scope_allows(&scopes, "GET", "richiesta"));
    }

    #[test]
    fn wildcards() {
        assert!(scope_allows(&s(&["*:/*"]), "DELETE", "richiesta"));
        assert!(scope_allows(&s(&["*:/operator"]), "POST", "operator"));
        assert!(!scope_allows(&s(&["*:/operator"]), "POST", "richiesta"));
        assert!(!scope_allows(&s(&["garbage"]), "GET", "visure"));
    }
}
