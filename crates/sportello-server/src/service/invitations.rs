//! The person's own page (`/compila/…`): the client's invitation (`POST|DELETE
//! /richiesta/{_id}/invito`), the link and its codes, and what the person does there — each
//! action through the function the client API uses, acting as the client with the person named
//! in the audit trail (`person:<invitation id>`).
//!
//! The link's secret is never stored. It is a keyed hash of the invitation's id under the
//! request's data key: the database holds only its SHA-256 (to find the request by), the server
//! can put the link again in a later e-mail, and the link dies with the key when the request is
//! purged. A code is random, sent once, and stored as a keyed hash under the same key.

use rand::Rng;
use sha2::{Digest, Sha256};
use sportello_domain::invitation::{
    self, Closed, CodeCheck, Consent, ConsentKind, ConsentMethod, Invitation, PendingAcceptance,
    Purpose, Session, State,
};
use sportello_domain::status::Status;
use sportello_store::crypto::DataKey;
use sportello_store::{
    ids, ClientRecord, HistoryEntry, PaperKind, ProviderRecord, RequestRecord, Role, StoredValue,
    TokenRecord,
};
use std::collections::BTreeMap;

use super::body::{InviteBody, UpdateBody};
use super::tenancy::find_own;
use super::{data_key, mutate, Change};
use crate::auth::ClientCaller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::wire::Richiesta;

/// The page's cookie: before a code, a random token whose hash the forms' CSRF token is made
/// from; after the code, the same token is the person's session on this device.
pub const COOKIE: &str = "sportello_persona";

/// The link's secret for invitation `id` of the request whose key is `key`: 64 hex digits.
pub fn link_secret(key: &DataKey, invitation_id: &str) -> String {
    key.keyed_hash(&format!("invito:{invitation_id}"))
}

/// What the store keeps of a link's secret.
pub fn link_hash(secret: &str) -> String {
    ids::sha256_hex(secret.as_bytes())
}

/// Whether `s` has the shape of a link's secret (looked up only then).
pub fn is_secret(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The page's address for `secret`.
pub fn link_url(state: &AppState, secret: &str) -> String {
    format!("{}/compila/{secret}", state.limits.public_url)
}

/// The keyed hash a code is kept as.
fn code_hash(key: &DataKey, invitation_id: &str, purpose: Purpose, code: &str) -> String {
    key.keyed_hash(&format!(
        "codice:{invitation_id}:{}:{code}",
        purpose.as_str()
    ))
}

/// `POST /richiesta/{_id}/invito`: invites the person to complete the draft on their own page.
/// A current invitation is replaced (its link stops working).
pub async fn invite(
    state: &AppState,
    caller: &ClientCaller,
    id: &str,
    body: InviteBody,
) -> ApiResult<Richiesta> {
    if !ids::is_request_id(id) {
        return Err(ApiError::invalid_id(201));
    }
    let current = find_own(state, caller, id)
        .await?
        .ok_or_else(|| ApiError::no_such_request(202, id))?;
    if current.status != Status::Draft {
        return Err(ApiError::refused(
            sportello_domain::refusal::Refusal::InvitationNeedsDraft,
        ));
    }
    if current.purged_at.is_some() {
        return Err(ApiError::purged());
    }
    if state.smtp.is_none() {
        return Err(ApiError::mail_not_configured());
    }
    let key = data_key(state, id).await?;
    let now = state.clock.now();
    let invitation_id = ids::short_id("inv");
    let secret = link_secret(&key, &invitation_id);
    let hash = link_hash(&secret);
    let action = match body.consegna {
        invitation::Consegna::Email => "invite_email",
        invitation::Consegna::Link => "invite_link",
    };
    let updated = mutate(state, id, |r| {
        if r.status != Status::Draft {
            return Err(ApiError::refused(
                sportello_domain::refusal::Refusal::InvitationNeedsDraft,
            ));
        }
        let prefilled = r
            .fields
            .iter()
            .filter(|(_, v)| !matches!(v, StoredValue::Text(t) if t.trim().is_empty()))
            .map(|(k, _)| k.clone())
            .collect();
        r.invito = Some(Invitation {
            id: invitation_id.clone(),
            email: body.email.clone(),
            consegna: body.consegna,
            messaggio: body.messaggio.clone(),
            scadenza: now + i64::from(body.scadenza_giorni) * 86_400,
            risultato_visibile: body.risultato_visibile,
            stato: State::Inviato,
            timestamp_stati: BTreeMap::from([(State::Inviato.as_str().to_string(), now)]),
            code: None,
            codes_sent: Vec::new(),
            session: None,
            acceptance: None,
            informativa_at: None,
            prefilled,
        });
        r.invito_hash = Some(hash.clone());
        r.updated_at = now;
        Ok(Change::recorded(super::requests::history(
            r, action, caller,
        )))
    })
    .await?;
    let mut rendered = super::requests::render(state, caller, &updated).await?;
    if body.consegna == invitation::Consegna::Link {
        if let Some(i) = rendered.invito.as_mut() {
            i.url = Some(link_url(state, &secret));
        }
    }
    Ok(rendered)
}

/// `DELETE /richiesta/{_id}/invito`: the link stops working at once.
pub async fn revoke(state: &AppState, caller: &ClientCaller, id: &str) -> ApiResult<Richiesta> {
    if !ids::is_request_id(id) {
        return Err(ApiError::invalid_id(201));
    }
    find_own(state, caller, id)
        .await?
        .ok_or_else(|| ApiError::no_such_request(202, id))?;
    let now = state.clock.now();
    let updated = mutate(state, id, |r| {
        let Some(inv) = r.invito.as_mut().filter(|_| r.invito_hash.is_some()) else {
            return Err(ApiError::refused(
                sportello_domain::refusal::Refusal::NoInvitation,
            ));
        };
        inv.enter(State::Revocato, now);
        inv.session = None;
        inv.code = None;
        r.invito_hash = None;
        r.updated_at = now;
        Ok(Change::recorded(super::requests::history(
            r,
            "revoke_invitation",
            caller,
        )))
    })
    .await?;
    super::requests::render(state, caller, &updated).await
}

/// A link that opens: the request, its current invitation, the client that invited.
#[derive(Debug, Clone)]
pub struct Visit {
    pub request: RequestRecord,
    pub invitation: Invitation,
    pub client: ClientRecord,
    pub secret: String,
    /// The browser's `User-Agent`, for the audit trail's record of a consent (never in an
    /// answer).
    pub user_agent: Option<String>,
}

impl Visit {
    /// The client's functions, acting for the person (the audit trail names the invitation).
    pub fn caller(&self, source: Option<String>) -> ClientCaller {
        ClientCaller {
            token: TokenRecord {
                id: String::new(),
                role: Role::Client,
                client_id: Some(self.client.id.clone()),
                operator_id: None,
                label: "invito".into(),
                scopes: Vec::new(),
                live: self.request.live,
                expires_at: None,
                revoked_at: None,
                created_at: self.request.created_at,
            },
            client: self.client.clone(),
            source,
            person: Some(self.invitation.id.clone()),
        }
    }

    pub fn actor(&self) -> String {
        format!("person:{}", self.invitation.id)
    }

    pub fn submitted(&self) -> bool {
        self.request.status != Status::Draft
    }
}

/// What a link leads to.
#[derive(Debug)]
pub enum Link {
    Open(Box<Visit>),
    /// Revoked, replaced or out of time: the page says so and nothing else.
    Closed(Closed),
    /// No such link (or the request's data is gone).
    Unknown,
}

/// The request a link's secret opens, if it still does.
pub async fn find(state: &AppState, secret: &str) -> ApiResult<Link> {
    if !is_secret(secret) {
        return Ok(Link::Unknown);
    }
    let Some(r) = state.store.find_by_invitation(&link_hash(secret)).await? else {
        return Ok(Link::Unknown);
    };
    let Some(inv) = r.invito.clone() else {
        return Ok(Link::Unknown);
    };
    if let Err(closed) = inv.access(
        r.status != Status::Draft,
        r.closed_at,
        state.limits.invito_giorni_dopo_chiusura,
        state.clock.now(),
    ) {
        return Ok(Link::Closed(closed));
    }
    let client = state
        .store
        .get_client(&r.client_id)
        .await?
        .ok_or_else(ApiError::internal)?;
    Ok(Link::Open(Box::new(Visit {
        request: r,
        invitation: inv,
        client,
        secret: secret.to_string(),
        user_agent: None,
    })))
}

/// Whether the cookie `token` is the person's session on this device.
pub fn is_session(state: &AppState, inv: &Invitation, token: &str) -> bool {
    inv.session.as_ref().is_some_and(|s| {
        state.clock.now() < s.expires_at
            && super::passwords::same_secret(&s.hash, &ids::sha256_hex(token.as_bytes()))
    })
}

/// The CSRF token of the forms shown to the holder of cookie `token`.
pub fn csrf_of(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"sportello-persona-csrf:");
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

/// A fresh cookie token (256 random bits, hex).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill(&mut bytes);
    hex::encode(bytes)
}

/// Why no code went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotSent {
    /// Too soon after the last one: the seconds to wait.
    Wait(i64),
    /// The e-mail server did not take it.
    Mail,
}

/// Sends a new code for `purpose` to the invitation's address, within the resend limits.
pub async fn send_code(
    state: &AppState,
    visit: &Visit,
    purpose: Purpose,
    source: Option<String>,
) -> ApiResult<Result<(), NotSent>> {
    let Some(smtp) = state.smtp.clone() else {
        return Ok(Err(NotSent::Mail));
    };
    let key = data_key(state, &visit.request.id).await?;
    let code = format!(
        "{:06}",
        rand::thread_rng().gen_range(0..10u32.pow(invitation::CODE_DIGITS))
    );
    let now = state.clock.now();
    let hash = code_hash(&key, &visit.invitation.id, purpose, &code);
    let mut wait = None;
    let updated = mutate(state, &visit.request.id, |r| {
        let inv = current(r, &visit.invitation.id)?;
        if let Err(w) = inv.may_send_code(purpose, now) {
            wait = Some(w);
            return Ok(Change {
                files: Vec::new(),
                history: None,
            });
        }
        wait = None;
        inv.code_sent(purpose, hash.clone(), now);
        r.updated_at = now;
        Ok(Change {
            files: Vec::new(),
            history: None,
        })
    })
    .await?;
    if let Some(w) = wait {
        return Ok(Err(NotSent::Wait(w)));
    }
    super::audit::record(
        state,
        visit.actor(),
        "person_code_sent",
        &updated.id,
        purpose.as_str().to_string(),
        source,
    )
    .await?;
    let service = state
        .catalog
        .get(&updated.hash_visura)
        .map(|s| s.nome_visura.clone())
        .unwrap_or_default();
    let (subject, text) = crate::outbox::email::code_text(&code, purpose, &service);
    match crate::outbox::email::send(&smtp, &visit.invitation.email, subject, text, None).await {
        Ok(()) => Ok(Ok(())),
        Err(e) => {
            tracing::warn!(request = %updated.id, error = %e.message, "a person's code was not sent");
            Ok(Err(NotSent::Mail))
        }
    }
}

/// The current invitation of `r`, if it is still `id` and usable.
fn current<'a>(r: &'a mut RequestRecord, id: &str) -> ApiResult<&'a mut Invitation> {
    match (r.invito.as_mut(), r.invito_hash.is_some()) {
        (Some(inv), true) if inv.id == id => Ok(inv),
        _ => Err(ApiError::not_found("the invitation is no longer current")),
    }
}

/// What a typed code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Typed {
    Accepted,
    /// Not six digits: nothing counted.
    Malformed,
    Refused(CodeCheck),
}

/// Checks the access code typed by the holder of cookie `token`; on success the cookie becomes
/// the person's session and, the first time, the invitation is opened
/// (`request.invitation_opened`).
pub async fn enter_code(
    state: &AppState,
    visit: &Visit,
    typed: &str,
    token: &str,
    source: Option<String>,
) -> ApiResult<Typed> {
    let Some(code) = invitation::normalise_code(typed) else {
        return Ok(Typed::Malformed);
    };
    let key = data_key(state, &visit.request.id).await?;
    let now = state.clock.now();
    let expected = code_hash(&key, &visit.invitation.id, Purpose::Accesso, &code);
    let mut check = CodeCheck::NoneSent;
    let caller = visit.caller(source.clone());
    mutate(state, &visit.request.id, |r| {
        let inv = current(r, &visit.invitation.id)?;
        check = inv.try_code(Purpose::Accesso, now, |h| {
            super::passwords::same_secret(h, &expected)
        });
        let mut history = None;
        if check == CodeCheck::Accepted {
            inv.session = Some(Session {
                hash: ids::sha256_hex(token.as_bytes()),
                expires_at: now + invitation::SESSION_SECS,
            });
            if inv.stato == State::Inviato {
                inv.enter(State::Aperto, now);
                history = Some(HistoryEntry {
                    request_id: r.id.clone(),
                    at: now,
                    status: r.status,
                    action: "invitation_opened".into(),
                    actor: caller.actor(),
                    note: None,
                    source: source.clone(),
                });
            }
        }
        r.updated_at = now;
        Ok(Change {
            files: Vec::new(),
            history,
        })
    })
    .await?;
    super::audit::record(
        state,
        visit.actor(),
        if check == CodeCheck::Accepted {
            "person_code_accepted"
        } else {
            "person_code_refused"
        },
        &visit.request.id,
        "accesso".into(),
        source,
    )
    .await?;
    Ok(match check {
        CodeCheck::Accepted => Typed::Accepted,
        other => Typed::Refused(other),
    })
}

/// Records a view of the page (`what`: the step) in the audit trail.
pub async fn viewed(
    state: &AppState,
    visit: &Visit,
    what: &str,
    source: Option<String>,
) -> ApiResult<()> {
    super::audit::record(
        state,
        visit.actor(),
        "person_view",
        &visit.request.id,
        what.to_string(),
        source,
    )
    .await
}

/// The provider the request is routed to, with its notice at the version the request
/// recorded (or its current one).
pub async fn provider(
    state: &AppState,
    r: &RequestRecord,
) -> ApiResult<Option<(ProviderRecord, Option<sportello_store::ProviderDocument>)>> {
    let Some(id) = &r.provider_id else {
        return Ok(None);
    };
    let Some(p) = state.store.get_provider(id).await? else {
        return Ok(None);
    };
    let notice = match r.informativa_versione {
        Some(v) => {
            state
                .store
                .provider_document(id, PaperKind::Informativa, v)
                .await?
        }
        None => {
            state
                .store
                .current_provider_document(id, PaperKind::Informativa)
                .await?
        }
    };
    Ok(Some((p, notice)))
}

/// A consent in the audit trail: what, and the browser it was given from (the address is the
/// entry's source).
async fn audit_consent(
    state: &AppState,
    visit: &Visit,
    c: &Consent,
    source: Option<String>,
) -> ApiResult<()> {
    let tipo = match c.tipo {
        ConsentKind::Informativa => "informativa",
        ConsentKind::Mandato => "mandato",
    };
    let metodo = match c.metodo {
        ConsentMethod::CodiceEmail => "codice_email",
        ConsentMethod::DocumentoFirmato => "documento_firmato",
    };
    super::audit::record(
        state,
        visit.actor(),
        "person_consent",
        &visit.request.id,
        format!(
            "{tipo} {} v{} {metodo} sha256 {}; browser: {}",
            c.fornitore,
            c.versione,
            c.sha256_testo,
            visit.user_agent.as_deref().unwrap_or("-")
        ),
        source,
    )
    .await
}

/// The person read the provider's privacy notice (the version shown): a consent `informativa`,
/// recorded once per provider and version.
pub async fn read_notice(state: &AppState, visit: &Visit, source: Option<String>) -> ApiResult<()> {
    let now = state.clock.now();
    let shown = provider(state, &visit.request).await?;
    let consent = shown.as_ref().and_then(|(p, notice)| {
        notice.as_ref().map(|n| Consent {
            tipo: ConsentKind::Informativa,
            fornitore: p.id.clone(),
            versione: n.versione,
            sha256_testo: ids::sha256_hex(n.testo.as_bytes()),
            metodo: ConsentMethod::CodiceEmail,
            timestamp: now,
        })
    });
    mutate(state, &visit.request.id, |r| {
        let inv = current(r, &visit.invitation.id)?;
        inv.informativa_at = Some(now);
        if let Some(c) = &consent {
            let known = r.consensi.iter().any(|k| {
                k.tipo == c.tipo && k.fornitore == c.fornitore && k.versione == c.versione
            });
            if !known {
                r.consensi.push(c.clone());
            }
        }
        r.updated_at = now;
        Ok(Change {
            files: Vec::new(),
            history: None,
        })
    })
    .await?;
    match consent {
        Some(c) => audit_consent(state, visit, &c, source).await,
        None => {
            super::audit::record(
                state,
                visit.actor(),
                "person_read_notice",
                &visit.request.id,
                "no notice".into(),
                source,
            )
            .await
        }
    }
}

/// Saves what the person typed into the draft (values as the API takes them: text, files as
/// `name|data:…;base64,…`), with the API's checks; a refusal is 412/229 with `details` by field.
pub async fn save_form(
    state: &AppState,
    visit: &Visit,
    values: BTreeMap<String, String>,
    source: Option<String>,
) -> ApiResult<Richiesta> {
    // Only what the client left empty is the person's to give.
    let values: BTreeMap<String, String> = values
        .into_iter()
        .filter(|(k, _)| !visit.invitation.prefilled.contains(k))
        .map(|(k, v)| (k, v.trim().to_string()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    // A draft takes values the submission would refuse; the person is told now, next to each
    // field, with the checks the submission will make.
    let problems = problems(state, &visit.request, &values)?;
    if !problems.is_empty() {
        return Err(ApiError::validation(229, problems));
    }
    let dotted = values.into_iter().map(|(k, v)| (k, Some(v))).collect();
    let body = UpdateBody {
        dotted,
        ..UpdateBody::default()
    };
    super::requests::update(state, &visit.caller(source), &visit.request.id, body).await
}

/// What the submission would refuse among `values` (`$n` → raw), each with its code: the
/// checks by type a draft does not make.
pub fn problems(
    state: &AppState,
    r: &RequestRecord,
    values: &BTreeMap<String, String>,
) -> ApiResult<Vec<crate::envelope::Detail>> {
    let service = state
        .catalog
        .get(&r.hash_visura)
        .ok_or_else(ApiError::internal)?;
    let values: BTreeMap<String, String> = values
        .iter()
        .filter(|(_, raw)| !raw.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(super::requests::validate_values(service, &values, &super::field_context(state)).1)
}

/// The mandate as the person reads it, filled with their data: the PDF, and the text and its
/// version for an on-screen acceptance. None while the provider has no mandate text.
pub async fn mandate(
    state: &AppState,
    visit: &Visit,
    source: Option<String>,
) -> ApiResult<Option<super::mandate::Filled>> {
    let Some((p, _)) = provider(state, &visit.request).await? else {
        return Ok(None);
    };
    let filled = super::mandate::filled(state, &visit.request, &p).await?;
    if let Some(f) = &filled {
        super::audit::record(
            state,
            visit.actor(),
            "download_mandate",
            &visit.request.id,
            f.versions(),
            source,
        )
        .await?;
    }
    Ok(filled)
}

/// Why an on-screen acceptance was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAccepted {
    /// The box "accetto" was not ticked.
    NotTicked,
    /// No name, or not the one in the form.
    Name,
    /// The provider has no mandate text.
    NoMandate,
    Code(NotSent),
}

/// The person accepts the mandate on screen: the box ticked and their full name typed. A code
/// goes to their address; [`confirm_mandate`] completes the acceptance.
pub async fn accept_mandate(
    state: &AppState,
    visit: &Visit,
    ticked: bool,
    nome: &str,
    source: Option<String>,
) -> ApiResult<Result<(), NotAccepted>> {
    if !ticked {
        return Ok(Err(NotAccepted::NotTicked));
    }
    let nome = nome.split_whitespace().collect::<Vec<_>>().join(" ");
    if nome.is_empty() || nome.chars().count() > 200 || !matches_form_name(state, visit, &nome) {
        return Ok(Err(NotAccepted::Name));
    }
    let Some(filled) = mandate(state, visit, source.clone()).await? else {
        return Ok(Err(NotAccepted::NoMandate));
    };
    let now = state.clock.now();
    let pending = PendingAcceptance {
        nome,
        sha256_testo: ids::sha256_hex(filled.text().as_bytes()),
        versione: filled.version(),
        at: now,
    };
    mutate(state, &visit.request.id, |r| {
        let inv = current(r, &visit.invitation.id)?;
        inv.acceptance = Some(pending.clone());
        r.updated_at = now;
        Ok(Change {
            files: Vec::new(),
            history: None,
        })
    })
    .await?;
    Ok(send_code(state, visit, Purpose::Mandato, source)
        .await?
        .map_err(NotAccepted::Code))
}

/// Whether `typed` is the person's name as the form holds it (name and surname in either
/// order, case and accents as typed aside); true when the form holds no name to compare with.
fn matches_form_name(state: &AppState, visit: &Visit, typed: &str) -> bool {
    let Some(service) = state.catalog.get(&visit.request.hash_visura) else {
        return true;
    };
    let text = |n: Option<u32>| match n.and_then(|n| visit.request.fields.get(&format!("${n}"))) {
        Some(StoredValue::Text(t)) if !t.trim().is_empty() => Some(fold(t)),
        _ => None,
    };
    let (Some(nome), Some(cognome)) = (text(service.persona.nome), text(service.persona.cognome))
    else {
        return true;
    };
    let typed = fold(typed);
    typed == format!("{nome} {cognome}") || typed == format!("{cognome} {nome}")
}

/// Lower case, single spaces, apostrophes as typed on any keyboard.
fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('’', "'")
        .to_lowercase()
}

/// What a typed confirmation code did to a pending acceptance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// Recorded: the consent, and the record `mandato_fes` among the documents.
    Done,
    Malformed,
    Refused(CodeCheck),
    /// Nothing to confirm (accepted already, or never asked).
    NothingPending,
}

/// Confirms an on-screen acceptance with the code sent for it: the consent `mandato`
/// (`codice_email`) is recorded and a PDF record of the acceptance (text, name typed, time,
/// code check) is stored as the document `mandato_fes`.
pub async fn confirm_mandate(
    state: &AppState,
    visit: &Visit,
    typed: &str,
    source: Option<String>,
) -> ApiResult<Confirmed> {
    let Some(pending) = visit.invitation.acceptance.clone() else {
        return Ok(Confirmed::NothingPending);
    };
    let Some(code) = invitation::normalise_code(typed) else {
        return Ok(Confirmed::Malformed);
    };
    let Some((p, _)) = provider(state, &visit.request).await? else {
        return Ok(Confirmed::NothingPending);
    };
    let filled = super::mandate::filled(state, &visit.request, &p)
        .await?
        .ok_or_else(|| ApiError::no_mandate("the request's provider has no mandate text"))?;
    let key = data_key(state, &visit.request.id).await?;
    let now = state.clock.now();
    let expected = code_hash(&key, &visit.invitation.id, Purpose::Mandato, &code);
    let mut check = CodeCheck::NoneSent;
    let consent = Consent {
        tipo: ConsentKind::Mandato,
        fornitore: p.id.clone(),
        versione: pending.versione,
        sha256_testo: pending.sha256_testo.clone(),
        metodo: ConsentMethod::CodiceEmail,
        timestamp: now,
    };
    mutate(state, &visit.request.id, |r| {
        let inv = current(r, &visit.invitation.id)?;
        check = inv.try_code(Purpose::Mandato, now, |h| {
            super::passwords::same_secret(h, &expected)
        });
        if check == CodeCheck::Accepted {
            inv.acceptance = None;
            r.consensi.push(consent.clone());
        }
        r.updated_at = now;
        Ok(Change {
            files: Vec::new(),
            history: None,
        })
    })
    .await?;
    if check != CodeCheck::Accepted {
        return Ok(Confirmed::Refused(check));
    }
    audit_consent(state, visit, &consent, source.clone()).await?;
    let record = crate::paperwork::acceptance::record_pdf(&crate::paperwork::acceptance::Acceptance {
        request_id: visit.request.id.clone(),
        invitation_id: visit.invitation.id.clone(),
        provider: super::mandate::details(&p),
        service: filled.service().to_string(),
        versione: pending.versione,
        testo: filled.text().to_string(),
        sha256_testo: pending.sha256_testo.clone(),
        nome: pending.nome.clone(),
        email: invitation::mask_email(&visit.invitation.email),
        accepted_at: pending.at,
        confirmed_at: now,
    })
    .map_err(|e| {
        tracing::error!(request = %visit.request.id, error = %e, "the acceptance record could not be rendered");
        ApiError::internal()
    })?;
    let bytes = bytes::Bytes::from(record);
    super::supporting::supply_stream(
        state,
        &visit.caller(source),
        &visit.request.id,
        sportello_domain::checklist::MANDATO_FES,
        "mandato-accettato.pdf",
        futures::stream::once(async move { Ok::<_, std::io::Error>(bytes) }),
    )
    .await?;
    Ok(Confirmed::Done)
}

/// A hand-signed scan of the mandate, uploaded on the page: the document `mandato` and the
/// consent `mandato` (`documento_firmato`).
pub async fn signed_mandate<S, E>(
    state: &AppState,
    visit: &Visit,
    file_name: &str,
    body: S,
    source: Option<String>,
) -> ApiResult<Richiesta>
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>>,
{
    let Some((p, _)) = provider(state, &visit.request).await? else {
        return Err(ApiError::no_mandate("the request has no provider yet"));
    };
    let filled = super::mandate::filled(state, &visit.request, &p)
        .await?
        .ok_or_else(|| ApiError::no_mandate("the request's provider has no mandate text"))?;
    let caller = visit.caller(source);
    let answer = super::supporting::supply_stream(
        state,
        &caller,
        &visit.request.id,
        sportello_domain::checklist::MANDATO,
        file_name,
        body,
    )
    .await?;
    let now = state.clock.now();
    let consent = Consent {
        tipo: ConsentKind::Mandato,
        fornitore: p.id.clone(),
        versione: filled.version(),
        sha256_testo: ids::sha256_hex(filled.text().as_bytes()),
        metodo: ConsentMethod::DocumentoFirmato,
        timestamp: now,
    };
    mutate(state, &visit.request.id, |r| {
        r.consensi.push(consent.clone());
        r.updated_at = now;
        Ok(Change {
            files: Vec::new(),
            history: None,
        })
    })
    .await?;
    audit_consent(state, visit, &consent, caller.source.clone()).await?;
    Ok(answer)
}

/// A document the person uploads (one of the checklist's, or one an operator asked for).
pub async fn supply_document<S, E>(
    state: &AppState,
    visit: &Visit,
    codice: &str,
    file_name: &str,
    body: S,
    source: Option<String>,
) -> ApiResult<Richiesta>
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>>,
{
    super::supporting::supply_stream(
        state,
        &visit.caller(source),
        &visit.request.id,
        codice,
        file_name,
        body,
    )
    .await
}

/// "Invia": the draft is submitted exactly as the client's `PUT … state: 1` submits it (checks,
/// debit, routing, SLA, `request.submitted`), then the invitation is completed
/// (`request.invitation_completed`).
pub async fn submit(
    state: &AppState,
    visit: &Visit,
    source: Option<String>,
) -> ApiResult<Richiesta> {
    let caller = visit.caller(source);
    let body = UpdateBody {
        submit: Some(true),
        ..UpdateBody::default()
    };
    super::requests::update(state, &caller, &visit.request.id, body).await?;
    let now = state.clock.now();
    let updated = mutate(state, &visit.request.id, |r| {
        let inv = current(r, &visit.invitation.id)?;
        inv.enter(State::Completato, now);
        r.updated_at = now;
        Ok(Change::recorded(super::requests::history(
            r,
            "invitation_completed",
            &caller,
        )))
    })
    .await?;
    super::requests::render(state, &caller, &updated).await
}

/// The person answers an operator's request for integration: the fields asked (as `PUT`
/// answers them). Documents come through [`supply_document`].
pub async fn supply_fields(
    state: &AppState,
    visit: &Visit,
    values: BTreeMap<String, String>,
    source: Option<String>,
) -> ApiResult<Richiesta> {
    let dotted = values
        .into_iter()
        .map(|(k, v)| {
            let v = v.trim().to_string();
            (k, (!v.is_empty()).then_some(v))
        })
        .collect();
    let body = UpdateBody {
        dotted,
        ..UpdateBody::default()
    };
    super::requests::update(state, &visit.caller(source), &visit.request.id, body).await
}

/// The result archive, when the client let the person see it and the practice is processed.
pub async fn result(
    state: &AppState,
    visit: &Visit,
    source: Option<String>,
) -> ApiResult<Option<super::documents::Download>> {
    if !visit.invitation.risultato_visibile || visit.request.status != Status::VisuraEvasa {
        return Ok(None);
    }
    super::documents::download(state, &visit.caller(source), &visit.request.id)
        .await
        .map(Some)
}
