//! Creating clients, tokens, providers and operators: what the CLI's verbs and the first start
//! of a new installation do.

use sportello_store::{
    ids, ClientRecord, OperatorRecord, PaperKind, ProviderRecord, Role, StoreError, TokenRecord,
};

use crate::auth::{CLIENT_SCOPES, OPERATOR_SCOPES};
use crate::error::ApiResult;
use crate::state::AppState;

/// A token as shown once to whoever created it: only its hash is kept.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub record: TokenRecord,
    pub secret: String,
}

pub async fn create_client(
    state: &AppState,
    name: &str,
    owner_email: &str,
) -> Result<ClientRecord, StoreError> {
    let client = ClientRecord {
        id: ids::short_id("cli"),
        name: name.to_string(),
        owner_email: owner_email.to_string(),
        created_at: state.clock.now(),
    };
    state.store.create_client(&client).await?;
    Ok(client)
}

pub struct TokenSpec {
    pub role: Role,
    pub client_id: Option<String>,
    pub operator_id: Option<String>,
    pub label: String,
    pub live: bool,
    /// Seconds from now; None never expires.
    pub ttl_secs: Option<i64>,
    /// Defaults to every scope of the role.
    pub scopes: Option<Vec<String>>,
}

pub async fn issue_token(state: &AppState, spec: TokenSpec) -> Result<IssuedToken, StoreError> {
    let now = state.clock.now();
    let prefix = match (spec.role, spec.live) {
        (Role::Client, true) => "spt_live_",
        (Role::Client, false) => "spt_test_",
        (Role::Operator, _) => "spt_op_",
        (Role::Admin, _) => "spt_admin_",
    };
    let default_scopes: Vec<String> = match spec.role {
        Role::Client => CLIENT_SCOPES.iter().map(|s| s.to_string()).collect(),
        Role::Operator => OPERATOR_SCOPES.iter().map(|s| s.to_string()).collect(),
        Role::Admin => vec!["*:/*".to_string()],
    };
    let secret = ids::token_secret(prefix);
    let record = TokenRecord {
        id: ids::short_id("tok"),
        role: spec.role,
        client_id: spec.client_id,
        operator_id: spec.operator_id,
        label: spec.label,
        scopes: spec.scopes.unwrap_or(default_scopes),
        live: spec.live,
        expires_at: spec.ttl_secs.map(|ttl| now + ttl),
        revoked_at: None,
        created_at: now,
    };
    state
        .store
        .create_token(&record, &ids::secret_hash(&secret))
        .await?;
    Ok(IssuedToken { record, secret })
}

/// Revokes a token; false when there is no such token. Callers cached by this process are
/// forgotten at once (another process forgets within `token_cache_secs`).
pub async fn revoke_token(state: &AppState, id: &str) -> Result<bool, StoreError> {
    let revoked = state.store.revoke_token(id, state.clock.now()).await?;
    state.callers.forget_all();
    Ok(revoked)
}

pub async fn create_provider(
    state: &AppState,
    name: &str,
    services: Vec<String>,
) -> Result<ProviderRecord, StoreError> {
    let provider = ProviderRecord {
        id: ids::short_id("prv"),
        name: name.to_string(),
        services,
        created_at: state.clock.now(),
        party: Default::default(),
    };
    state.store.create_provider(&provider).await?;
    Ok(provider)
}

pub async fn create_operator(
    state: &AppState,
    provider_id: &str,
    name: &str,
    email: &str,
) -> Result<OperatorRecord, StoreError> {
    let operator = OperatorRecord {
        id: ids::short_id("opr"),
        provider_id: provider_id.to_string(),
        name: name.to_string(),
        email: email.to_string(),
        disabled: false,
        created_at: state.clock.now(),
    };
    state.store.create_operator(&operator).await?;
    Ok(operator)
}

/// What a brand-new installation prints once.
pub struct Demo {
    /// Test mode: its requests are worked by the sandbox within seconds, free of charge.
    pub client_token: IssuedToken,
    /// Live mode: its requests reach the demo CAF's queue and are paid from the demo credit.
    pub live_client_token: IssuedToken,
    pub operator_token: IssuedToken,
}

/// What every start does before serving: the sandbox's simulated operator exists, and an empty
/// database gets the demo (see [`bootstrap_demo`]). Its errors are the API's because the demo's
/// credit goes through [`crate::service::wallet::fund`]; a store failure is logged where it
/// becomes one.
pub async fn prepare(state: &AppState) -> ApiResult<Option<Demo>> {
    crate::service::sandbox::ensure(state).await?;
    bootstrap_demo(state).await
}

/// What the demo client finds in its wallet, so a live token made for it can submit at once.
pub const DEMO_CREDIT_CENTS: i64 = 10_000;

/// On an empty database: a demo client with a test token, a live token and €100 of credit, and
/// a demo provider working every service with one operator, so a newcomer can walk a request end
/// to end at once — alone in the sandbox, or playing both sides with the live token.
pub async fn bootstrap_demo(state: &AppState) -> ApiResult<Option<Demo>> {
    if !state.store.list_clients().await?.is_empty() {
        return Ok(None);
    }
    let client = create_client(state, "Demo", "demo@example.invalid").await?;
    // Through the wallet service, as an admin's top-up: validated, and in the audit trail.
    crate::service::wallet::fund(
        state,
        sportello_store::ledger::Kind::Topup,
        &client.id,
        &sportello_domain::pricing::from_cents(DEMO_CREDIT_CENTS).to_string(),
        "credito iniziale della demo",
        "system:bootstrap",
        None,
        None,
    )
    .await?;
    let client_token = issue_token(
        state,
        TokenSpec {
            role: Role::Client,
            client_id: Some(client.id.clone()),
            operator_id: None,
            label: "demo".into(),
            live: false,
            ttl_secs: None,
            scopes: None,
        },
    )
    .await?;
    let live_client_token = issue_token(
        state,
        TokenSpec {
            role: Role::Client,
            client_id: Some(client.id),
            operator_id: None,
            label: "demo live".into(),
            live: true,
            ttl_secs: None,
            scopes: None,
        },
    )
    .await?;
    let services = state
        .catalog
        .services()
        .iter()
        .map(|s| s.hash_visura.clone())
        .collect();
    let provider = create_provider(state, "CAF Demo", services).await?;
    seed_demo_paperwork(state, &provider.id).await?;
    let operator = create_operator(
        state,
        &provider.id,
        "Operatore Demo",
        "operatore@example.invalid",
    )
    .await?;
    let operator_token = issue_token(
        state,
        TokenSpec {
            role: Role::Operator,
            client_id: None,
            operator_id: Some(operator.id),
            label: "demo".into(),
            live: false,
            ttl_secs: None,
            scopes: None,
        },
    )
    .await?;
    Ok(Some(Demo {
        client_token,
        live_client_token,
        operator_token,
    }))
}

/// The demo CAF's party data, privacy notice and mandate (version 1 of each).
async fn seed_demo_paperwork(state: &AppState, provider_id: &str) -> Result<(), StoreError> {
    let now = state.clock.now();
    state
        .store
        .update_provider(provider_id, "CAF Demo", &crate::paperwork::demo_party())
        .await?;
    for (kind, testo) in [
        (PaperKind::Informativa, crate::paperwork::DEMO_INFORMATIVA),
        (PaperKind::Mandato, crate::paperwork::DEMO_MANDATO),
    ] {
        state
            .store
            .add_provider_document(provider_id, kind, testo.trim(), now, "system")
            .await?;
    }
    Ok(())
}
