//! Every failure the HTTP layer can answer with, and the one place that maps it to a status, an
//! integer error code and the envelope. Codes below 900 are the commercial API's own (kept
//! exactly where it defines them); 900 and above are ours.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sportello_domain::refusal::Refusal;
use sportello_store::StoreError;

use crate::body::operator::Invalid;
use crate::envelope::{Credito, Detail, ErrorEnvelope};

/// Why, as a value other audiences word themselves (the back office in Italian) or act on (the
/// sandbox and the SLA job recognise a lost race), never recovered from a message or a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The rules refused an action on a request.
    Refused(Refusal),
    /// A member sent was not accepted.
    Invalid(Invalid),
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u16,
    pub message: String,
    pub details: Vec<Detail>,
    pub retry_after: Option<u64>,
    /// Boxed: rare, and it would make every `Result` carrying an `ApiError` larger.
    pub credito: Option<Box<Credito>>,
    /// Set where another audience needs the reason; None for the rest.
    pub cause: Option<Cause>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            retry_after: None,
            credito: None,
            cause: None,
        }
    }

    /// The refusal, if this is one.
    pub fn refusal(&self) -> Option<Refusal> {
        match self.cause {
            Some(Cause::Refused(r)) => Some(r),
            _ => None,
        }
    }

    /// An action on a request refused by the rules (the state machine's or the service
    /// layer's): the status and code per refusal, the message its English words.
    pub fn refused(refusal: Refusal) -> ApiError {
        use Refusal::*;
        let (status, code) = match refusal {
            // The commercial API answers a PUT that can no longer change anything so.
            NotEditable => (StatusCode::BAD_REQUEST, 239),
            DraftNotForOperators
            | DraftHasNoIntegration
            | DraftNotSubmitted
            | NotClaimed
            | NoResults
            | OperatorAtWork
            | AlreadyTaken
            | AlreadySubmitted
            | SubmittedNoIntegration
            | NobodyHolds
            | AwaitingIntegrationClaim
            | IntegrationPending
            | AwaitingIntegrationClose
            | AnswerIntegration
            | ResultsNoCancel
            | ResultsOnlyClose
            | Closed
            | Cancelled
            | HeldByAnother
            | TakeFirst
            | ReassignedMeanwhile
            | NotReassignable
            | SandboxRequest
            | ServiceNotWorked
            | NoLongerOverdue => (StatusCode::CONFLICT, 907),
            NoMoreDocuments => (StatusCode::CONFLICT, 921),
            MandateMissing => (StatusCode::CONFLICT, 922),
            InvitationNeedsDraft => (StatusCode::CONFLICT, 923),
            NoInvitation => (StatusCode::CONFLICT, 924),
        };
        ApiError {
            cause: Some(Cause::Refused(refusal)),
            ..ApiError::new(status, code, refusal.message())
        }
    }

    pub fn with_details(mut self, details: Vec<Detail>) -> ApiError {
        self.details = details;
        self
    }

    // --- the commercial API's codes ---

    pub fn wrong_hash() -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, 200, "wrong hash_visura")
    }

    /// `code` is 201 (GET/DELETE /richiesta), 243 (GET /documento)…
    pub fn invalid_id(code: u16) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, "Invalid id")
    }

    /// `code` is 202 (GET/DELETE /richiesta/{id}), 228 (PUT), 244 (GET /documento).
    pub fn no_such_request(code: u16, id: &str) -> ApiError {
        let message = if code == 202 {
            format!("no request matches this id: {id}")
        } else {
            format!("no requests matches this id: {id}")
        };
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    pub fn hash_required() -> ApiError {
        ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            204,
            "hash_visura required",
        )
    }

    pub fn email_invalid() -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, 209, "email is considered invalid!").with_details(
            vec![Detail {
                campo: "email_target".into(),
                codice: "email_invalid".into(),
                messaggio: "not a valid e-mail address".into(),
            }],
        )
    }

    /// POST: 412/250; PUT: 412/229. `summary` is appended after the colon, as the commercial
    /// API does; the same facts are in `details`.
    pub fn validation(code: u16, details: Vec<Detail>) -> ApiError {
        let prefix = if code == 229 {
            "error in the input data: "
        } else {
            "Insufficient data to validate the request: "
        };
        let summary = details
            .iter()
            .map(|d| format!("{} ({})", d.campo, d.messaggio))
            .collect::<Vec<_>>()
            .join("; ");
        ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            code,
            format!("{prefix}{summary}"),
        )
        .with_details(details)
    }

    pub fn document_not_ready() -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            247,
            "document not yet available",
        )
    }

    /// 402/211, the commercial API's "Insufficient Credit in Wallet: <balance>"; amounts in
    /// cents. Nothing was created or changed.
    pub fn insufficient_credit(balance: i64, required: i64) -> ApiError {
        use sportello_domain::pricing::from_cents;
        // A negative balance (fees already owed) must be made good too.
        let missing = required - balance;
        let euro = |c: i64| format!("{:.2}", from_cents(c));
        ApiError {
            credito: Some(Box::new(Credito {
                saldo: crate::wire::money(from_cents(balance)),
                richiesto: crate::wire::money(from_cents(required)),
                mancante: crate::wire::money(from_cents(missing)),
            })),
            ..ApiError::new(
                StatusCode::PAYMENT_REQUIRED,
                211,
                format!("Insufficient Credit in Wallet: {}", euro(balance)),
            )
            .with_details(vec![Detail {
                campo: "wallet".into(),
                codice: "insufficient_credit".into(),
                messaggio: format!(
                    "{} EUR missing: the request costs {} EUR, the wallet holds {} EUR",
                    euro(missing),
                    euro(required),
                    euro(balance)
                ),
            }])
        }
    }

    pub fn no_search() -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            222,
            "this request does not allow the addition of a search",
        )
    }

    /// `GET /richiesta/{_id}/mandato` before there is a mandate to print: the request is not
    /// routed yet, or its provider has no mandate text.
    pub fn no_mandate(why: &str) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, 920, why)
    }

    pub fn no_search_results() -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            230,
            "the request does not produce results to choose from, it is processed directly with the POST",
        )
    }

    // --- ours ---

    pub fn unauthorized(code: u16, message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden_scope(scope: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            904,
            format!("the token lacks the scope {scope}"),
        )
    }

    /// Money is live-only: a test token is the sandbox, where nothing is paid.
    pub fn live_only(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            904,
            format!("{what} lists live requests: use a live token"),
        )
    }

    pub fn malformed(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, 905, message)
    }

    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            906,
            format!("the request body exceeds {limit} bytes"),
        )
    }

    pub fn idempotency_mismatch() -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            908,
            "this Idempotency-Key was already used with a different body",
        )
    }

    pub fn bad_header(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, 909, message)
    }

    pub fn route_not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, 910, "no such endpoint")
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            911,
            "method not allowed on this endpoint",
        )
    }

    pub fn bad_query(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, 912, message)
    }

    pub fn busy() -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            913,
            "the request was changed by someone else at the same time; read it again and retry",
        )
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, 914, message)
    }

    pub fn invalid_member(campo: &str, codice: &str, messaggio: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            915,
            format!("invalid {campo}: {messaggio}"),
        )
        .with_details(vec![Detail {
            campo: campo.into(),
            codice: codice.into(),
            messaggio: messaggio.into(),
        }])
    }

    pub fn timeout() -> ApiError {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            916,
            "the request took too long",
        )
    }

    /// The request's personal data was destroyed (retention or erasure).
    /// An invitation needs e-mail: the person proves the link is theirs with a code sent to
    /// their address.
    pub fn mail_not_configured() -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            925,
            "e-mail is not configured on this server (smtp_host): the person could not receive the codes that open their page",
        )
    }

    pub fn purged() -> ApiError {
        ApiError::new(
            StatusCode::GONE,
            917,
            "the personal data of this request has been deleted",
        )
    }

    /// A rate limit was hit; `retry_after_secs` is when the next request will be let through.
    pub fn too_many_requests(retry_after_secs: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after_secs),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                918,
                format!("too many requests; retry in {retry_after_secs} seconds"),
            )
        }
    }

    /// A delivery was replayed as often as an hour allows; `retry_after_secs` is when the oldest
    /// of those replays leaves the hour.
    pub fn too_many_replays(max: u32, retry_after_secs: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after_secs),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                918,
                format!(
                    "this delivery was replayed {max} times in the last hour; retry in {retry_after_secs} seconds"
                ),
            )
        }
    }

    /// `/readyz`: a dependency does not answer; `what` names it (never a path or a secret).
    pub fn not_ready(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            919,
            format!("not ready: {what} does not answer"),
        )
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            999,
            "internal error; it has been logged",
        )
    }
}

/// 400/915 naming the member, as [`ApiError::invalid_member`].
impl From<Invalid> for ApiError {
    fn from(i: Invalid) -> ApiError {
        ApiError {
            cause: Some(Cause::Invalid(i)),
            ..ApiError::invalid_member(i.campo(), i.codice(), i.message())
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        if let StoreError::InsufficientCredit { balance, required } = e {
            return ApiError::insufficient_credit(balance, required);
        }
        if let StoreError::Purged(_) = e {
            return ApiError::purged();
        }
        // Store errors carry ids and database messages, never field values.
        tracing::error!(error = %e, "store failure");
        ApiError::internal()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorEnvelope {
            data: None,
            success: false,
            message: self.message,
            error: self.code,
            details: self.details,
            credito: self.credito.map(|c| *c),
            request_id: crate::access_log::RequestId::current().map(|id| id.as_str().to_string()),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
