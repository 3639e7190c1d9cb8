//! Providers as parties: what a client is told about the provider of its request, routing a
//! request together with the paperwork versions it is shown, and an admin's edits of a
//! provider's data, privacy notice and mandate template (each text edit a new version, checked
//! by `sportello_domain::paperwork` for the items it seems to lack: a warning, never a refusal).

use sportello_domain::paperwork::{self, TextError};
use sportello_domain::party::{Party, RawParty};
use sportello_store::{PaperKind, ProviderDocument, ProviderRecord, RequestRecord};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::wire::Fornitore;

/// The provider of a request, as its answers show it (None while unrouted).
pub async fn fornitore(
    state: &AppState,
    provider_id: Option<&str>,
) -> ApiResult<Option<Fornitore>> {
    let Some(id) = provider_id else {
        return Ok(None);
    };
    Ok(state
        .store
        .get_provider(id)
        .await?
        .map(|p| Fornitore::of(&p)))
}

/// Providers looked up once per page of requests, however many of its requests each has.
#[derive(Default)]
pub struct Directory(std::collections::HashMap<String, Option<Fornitore>>);

impl Directory {
    pub async fn get(
        &mut self,
        state: &AppState,
        provider_id: Option<&str>,
    ) -> ApiResult<Option<Fornitore>> {
        let Some(id) = provider_id else {
            return Ok(None);
        };
        if let Some(known) = self.0.get(id) {
            return Ok(known.clone());
        }
        let found = fornitore(state, Some(id)).await?;
        self.0.insert(id.to_string(), found.clone());
        Ok(found)
    }
}

/// Where a new request goes (see `routing::route`), and the notice and mandate versions that
/// provider shows now: the request records them.
pub async fn route(state: &AppState, r: &mut RequestRecord) -> ApiResult<Option<ProviderRecord>> {
    let provider_id = super::routing::route(state, r.live, &r.hash_visura).await?;
    let provider = match provider_id {
        Some(id) => state.store.get_provider(&id).await?,
        None => None,
    };
    assign(state, r, provider.as_ref()).await?;
    Ok(provider)
}

/// Routes `r` to `provider` (or to none) and records the versions of its paperwork shown.
pub async fn assign(
    state: &AppState,
    r: &mut RequestRecord,
    provider: Option<&ProviderRecord>,
) -> ApiResult<()> {
    r.provider_id = provider.map(|p| p.id.clone());
    let (informativa, mandato) = match provider {
        Some(p) => current_versions(state, &p.id).await?,
        None => (None, None),
    };
    r.informativa_versione = informativa;
    r.mandato_versione = mandato;
    Ok(())
}

/// The current versions of a provider's notice and mandate: one query, no text read (every
/// request's creation asks).
pub async fn current_versions(
    state: &AppState,
    provider_id: &str,
) -> ApiResult<(Option<i64>, Option<i64>)> {
    let v = state.store.current_provider_versions(provider_id).await?;
    Ok((v.informativa, v.mandato))
}

fn unknown_provider() -> ApiError {
    ApiError::not_found("no such provider")
}

/// A provider, or 404.
pub async fn provider(state: &AppState, id: &str) -> ApiResult<ProviderRecord> {
    state
        .store
        .get_provider(id)
        .await?
        .ok_or_else(unknown_provider)
}

/// The current privacy notice of a provider, for anyone about to give it their data.
pub async fn informativa(
    state: &AppState,
    provider_id: &str,
) -> ApiResult<Option<ProviderDocument>> {
    provider(state, provider_id).await?;
    Ok(state
        .store
        .current_provider_document(provider_id, PaperKind::Informativa)
        .await?)
}

/// Replaces a provider's party data, checked, and, when `fes` says, whether it accepts an
/// on-screen acceptance of the mandate; recorded in the audit trail.
pub async fn update(
    state: &AppState,
    id: &str,
    raw: &RawParty<'_>,
    fes: Option<bool>,
    actor: &str,
    source: Option<String>,
) -> ApiResult<ProviderRecord> {
    let party =
        Party::parse(raw).map_err(|e| ApiError::invalid_member(e.campo, e.codice, e.messaggio))?;
    let fes = match fes {
        Some(f) => f,
        None => provider(state, id).await?.party.mandato_fes_accettato,
    };
    let stored = sportello_store::Party {
        tipo: Some(party.tipo.as_str().to_string()),
        codice_fiscale: Some(party.codice_fiscale.clone()),
        indirizzo: party.indirizzo,
        comune: party.comune,
        provincia: party.provincia,
        email: party.email,
        pec: party.pec,
        telefono: party.telefono,
        mandato_fes_accettato: fes,
    };
    if !state
        .store
        .update_provider(id, &party.denominazione, &stored)
        .await?
    {
        return Err(unknown_provider());
    }
    super::audit::event(
        state,
        actor.to_string(),
        "provider_update",
        None,
        format!("provider {id}"),
        source,
    )
    .await?;
    provider(state, id).await
}

/// A saved version and what the checks found missing in it.
#[derive(Debug, Clone)]
pub struct Saved {
    pub document: ProviderDocument,
    pub avvisi: Vec<String>,
}

/// The warnings a text of `kind` raises.
pub fn warnings(kind: PaperKind, testo: &str) -> Vec<String> {
    match kind {
        PaperKind::Informativa => paperwork::notice_warnings(testo),
        PaperKind::Mandato => paperwork::mandate_warnings(testo),
    }
}

/// Saves a new version of a provider's notice or mandate; recorded in the audit trail.
pub async fn save_text(
    state: &AppState,
    id: &str,
    kind: PaperKind,
    testo: &str,
    actor: &str,
    source: Option<String>,
) -> ApiResult<Saved> {
    let testo = paperwork::normalise(testo).map_err(|e| {
        let codice = match e {
            TextError::Empty => "testo_required",
            TextError::TooLong => "testo_too_long",
        };
        ApiError::invalid_member("testo", codice, &e.to_string())
    })?;
    let document = state
        .store
        .add_provider_document(id, kind, &testo, state.clock.now(), actor)
        .await?
        .ok_or_else(unknown_provider)?;
    super::audit::event(
        state,
        actor.to_string(),
        &format!("provider_{}", kind.as_db()),
        None,
        format!("provider {id} versione {}", document.versione),
        source,
    )
    .await?;
    Ok(Saved {
        avvisi: warnings(kind, &document.testo),
        document,
    })
}

/// One version of a provider's notice or mandate and its warnings; 404 when the provider or
/// the version does not exist.
pub async fn version(
    state: &AppState,
    id: &str,
    kind: PaperKind,
    versione: i64,
) -> ApiResult<Saved> {
    provider(state, id).await?;
    let document = state
        .store
        .provider_document(id, kind, versione)
        .await?
        .ok_or_else(|| ApiError::not_found("no such version"))?;
    Ok(Saved {
        avvisi: warnings(kind, &document.testo),
        document,
    })
}

/// A version as the lists show it: no text, its warnings.
#[derive(Debug, Clone)]
pub struct VersionEntry {
    pub kind: PaperKind,
    pub versione: i64,
    pub created_at: i64,
    pub created_by: String,
    pub avvisi: Vec<String>,
}

/// Every version of a provider's notice, then of its mandate, newest first; 404 when the
/// provider does not exist.
pub async fn versions(state: &AppState, id: &str) -> ApiResult<Vec<VersionEntry>> {
    provider(state, id).await?;
    let mut out = Vec::new();
    for kind in [PaperKind::Informativa, PaperKind::Mandato] {
        for d in state.store.provider_documents(id, kind).await? {
            out.push(VersionEntry {
                avvisi: warnings(kind, &d.testo),
                kind,
                versione: d.versione,
                created_at: d.created_at,
                created_by: d.created_by,
            });
        }
    }
    Ok(out)
}
