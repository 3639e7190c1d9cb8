//! The sandbox: requests made with a test token are worked by a simulated operator, through the
//! very service functions a person at a CAF uses, so a client sees the same states, events,
//! callbacks, e-mails and result archive it will see in production — without anyone's work and
//! without money changing hands.
//!
//! What the simulated operator does is chosen by the client's input (documented in the README):
//! a `testo` field holding [`ASK_INTEGRATION`] gets an integration request naming that field (and
//! again after every answer that keeps the value); one holding [`CANCEL`] gets the request
//! cancelled; anything else is processed with a sample PDF, clearly marked as such.

mod pdf;

use sportello_domain::catalog::Service;
use sportello_domain::fields::FieldType;
use sportello_domain::status::Status;
use sportello_store::{
    OperatorRecord, ProviderQueue, ProviderRecord, RequestFilter, RequestRecord, Role, StoreError,
    StoredValue, TokenRecord,
};
use std::future::Future;
use std::time::Duration;

use super::operator;
use crate::auth::OperatorCaller;
use crate::error::{ApiError, ApiResult};
use crate::periodic::Periodic;
use crate::state::AppState;

/// The provider test requests are routed to. It works no service by catalog, so live requests
/// are never routed to it and it can never be chosen for a reassignment.
pub const PROVIDER_ID: &str = "prv_sandbox";
/// The simulated operator: it has no password and no token, so nobody can log in as it.
pub const OPERATOR_ID: &str = "opr_sandbox";
/// In a `testo` field (any case): ask the client for that field again.
pub const ASK_INTEGRATION: &str = "sandbox:integrazione";
/// In a `testo` field (any case): cancel the request.
pub const CANCEL: &str = "sandbox:annulla";

/// Creates the sandbox's provider and operator if they are missing. Several processes may start
/// at once: whoever loses the race finds the records made by the winner.
pub async fn ensure(state: &AppState) -> Result<(), StoreError> {
    let now = state.clock.now();
    if state.store.get_provider(PROVIDER_ID).await?.is_none() {
        let provider = ProviderRecord {
            id: PROVIDER_ID.into(),
            name: "Sandbox (operatore simulato)".into(),
            services: Vec::new(),
            created_at: now,
            party: Default::default(),
        };
        match state.store.create_provider(&provider).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    if state.store.get_operator(OPERATOR_ID).await?.is_none() {
        let operator = OperatorRecord {
            id: OPERATOR_ID.into(),
            provider_id: PROVIDER_ID.into(),
            name: "Operatore simulato".into(),
            email: "sandbox@sportello.invalid".into(),
            disabled: false,
            created_at: now,
        };
        match state.store.create_operator(&operator).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// What the simulated operator did to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Worked {
    Processed(String),
    IntegrationAsked(String),
    Cancelled(String),
}

/// One pass: every test request waiting for the operator for at least the configured delay is
/// worked. A request someone else changed meanwhile (another process's pass, the client) is left
/// for the next pass.
pub async fn work(state: &AppState) -> ApiResult<Vec<Worked>> {
    work_as(state, &mut None).await
}

/// A pass as `op`, the simulated operator, read (and created if missing) into `op` the first
/// time a pass has work. The running worker keeps it from pass to pass: the service functions
/// only use its ids, which are constants, so a copy never goes stale in a way that matters.
async fn work_as(state: &AppState, op: &mut Option<OperatorCaller>) -> ApiResult<Vec<Worked>> {
    let delay = i64::try_from(state.limits.sandbox_delay_secs).unwrap_or(i64::MAX);
    let now = state.clock.now();
    let filter = RequestFilter {
        live: Some(false),
        provider_queue: Some(ProviderQueue {
            provider_id: PROVIDER_ID.into(),
            services: Vec::new(),
        }),
        statuses: vec![Status::InErogazione],
        oldest_first: true,
        limit: 100,
        ..RequestFilter::default()
    };
    let due: Vec<RequestRecord> = state
        .store
        .list_requests(&filter)
        .await?
        .into_iter()
        .filter(|r| r.purged_at.is_none() && r.updated_at.saturating_add(delay) <= now)
        .collect();
    if due.is_empty() {
        return Ok(Vec::new());
    }
    if op.is_none() {
        *op = Some(caller(state).await?);
    }
    let Some(op) = op.as_ref() else {
        return Err(ApiError::internal());
    };
    let mut out = Vec::new();
    for r in due {
        let id = r.id.clone();
        match work_one(state, op, r).await {
            Ok(done) => out.push(done),
            // Lost a race: someone else moved it; the next pass sees where it is now.
            Err(e) if e.refusal().is_some() => {}
            // One request that cannot be worked must not stop the others.
            Err(e) => {
                tracing::warn!(request = %id, code = e.code, "sandbox could not work a request")
            }
        }
    }
    Ok(out)
}

async fn work_one(state: &AppState, op: &OperatorCaller, r: RequestRecord) -> ApiResult<Worked> {
    let service = state
        .catalog
        .get(&r.hash_visura)
        .ok_or_else(ApiError::internal)?;
    if r.operator_id.is_none() {
        operator::claim(state, op, &r.id).await?;
    }
    match magic(service, &r) {
        Some((campo, Magic::AskIntegration)) => {
            let ask = operator::AskIntegration {
                messaggio: format!(
                    "Sandbox: il campo {campo} contiene \"{ASK_INTEGRATION}\"; \
                     inviate un valore diverso con PUT /richiesta/{}",
                    r.id
                ),
                campi: vec![campo],
                documenti: Vec::new(),
            };
            operator::ask_integration(state, op, &r.id, ask).await?;
            Ok(Worked::IntegrationAsked(r.id))
        }
        Some((campo, Magic::Cancel)) => {
            let cancel = operator::Cancel {
                motivo: format!("Sandbox: il campo {campo} contiene \"{CANCEL}\""),
            };
            operator::cancel(state, op, &r.id, cancel).await?;
            Ok(Worked::Cancelled(r.id))
        }
        None => {
            let already = state
                .store
                .list_files(&r.id)
                .await?
                .iter()
                .any(|f| f.kind == sportello_store::FileKind::Result);
            if !already {
                let sample = pdf::sample(&service.nome_visura, &r.id, state.clock.now());
                let file = operator::ResultFile {
                    nome: Some("esito-sandbox.pdf".into()),
                    file: format!("data:application/pdf;base64,{}", base64(&sample)),
                };
                operator::attach_result(state, op, &r.id, file).await?;
            }
            let close = operator::Close {
                esito: operator::Esito {
                    codice: "0".into(),
                    info: "OK (sandbox)".into(),
                },
            };
            operator::close(state, op, &r.id, close).await?;
            Ok(Worked::Processed(r.id))
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Magic {
    AskIntegration,
    Cancel,
}

/// The first `testo` field (in `$n` order) holding a magic value.
fn magic(service: &Service, r: &RequestRecord) -> Option<(String, Magic)> {
    service
        .fields
        .iter()
        .filter(|f| f.tipo == FieldType::Testo)
        .find_map(|f| {
            let key = f.key();
            let Some(StoredValue::Text(v)) = r.fields.get(&key) else {
                return None;
            };
            let v = v.trim();
            if v.eq_ignore_ascii_case(ASK_INTEGRATION) {
                Some((key, Magic::AskIntegration))
            } else if v.eq_ignore_ascii_case(CANCEL) {
                Some((key, Magic::Cancel))
            } else {
                None
            }
        })
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The simulated operator as the service layer knows operators. Its token exists only here:
/// nothing is stored, so it cannot be presented by anyone.
async fn caller(state: &AppState) -> ApiResult<OperatorCaller> {
    let (provider, operator) = match (
        state.store.get_provider(PROVIDER_ID).await?,
        state.store.get_operator(OPERATOR_ID).await?,
    ) {
        (Some(p), Some(o)) => (p, o),
        _ => {
            ensure(state).await?;
            let p = state.store.get_provider(PROVIDER_ID).await?;
            let o = state.store.get_operator(OPERATOR_ID).await?;
            (
                p.ok_or_else(ApiError::internal)?,
                o.ok_or_else(ApiError::internal)?,
            )
        }
    };
    Ok(OperatorCaller {
        token: TokenRecord {
            id: "tok_sandbox".into(),
            role: Role::Operator,
            client_id: None,
            operator_id: Some(OPERATOR_ID.into()),
            label: "sandbox".into(),
            scopes: Vec::new(),
            live: false,
            expires_at: None,
            revoked_at: None,
            created_at: provider.created_at,
        },
        operator,
        provider,
        source: None,
    })
}

/// The background job: a pass every `every` until `stop` resolves; as the outbox does, the pass
/// under way then finishes (every request it took is worked to its next state, none left
/// claimed half-way), and the worker ends.
pub fn spawn(
    state: AppState,
    every: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut passes = Periodic::new(every, stop);
        let mut op = None;
        while passes.next().await {
            match work_as(&state, &mut op).await {
                Ok(done) if !done.is_empty() => {
                    tracing::debug!(count = done.len(), "sandbox pass worked test requests")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(code = e.code, "sandbox pass failed"),
            }
        }
        tracing::info!("sandbox worker stopped");
    })
}
