//! `GET /richiesta/{_id}/mandato`: the mandate a client prints for the person to sign, with the
//! privacy notice after it. The texts are the provider's at the versions the request recorded
//! when it was routed (the person signs what the request was shown, not a later edit); a
//! request routed before versions were recorded gets the current ones.
//!
//! The person's name, surname and codice fiscale come from the fields the catalog's `[persona]`
//! names; reading them is a read of personal data, recorded in the audit trail.

use std::collections::BTreeMap;

use sportello_domain::calendar::local_date;
use sportello_domain::catalog::Service;
use sportello_store::{PaperKind, ProviderDocument, ProviderRecord, RequestRecord, StoredValue};

use super::tenancy::find_own;
use crate::auth::ClientCaller;
use crate::error::{ApiError, ApiResult};
use crate::paperwork::pdf::{self, MandateDocument, ProviderDetails, VersionedText};
use crate::state::AppState;

/// The mandate of the caller's request `id`, as PDF bytes.
pub async fn mandate(state: &AppState, caller: &ClientCaller, id: &str) -> ApiResult<Vec<u8>> {
    if !sportello_store::ids::is_request_id(id) {
        return Err(ApiError::invalid_id(201));
    }
    let r = find_own(state, caller, id)
        .await?
        .ok_or_else(|| ApiError::no_such_request(202, id))?;
    // The fields are personal data: a purged request has none left to print (its key is gone).
    if r.purged_at.is_some() {
        return Err(ApiError::purged());
    }
    let provider = match &r.provider_id {
        Some(p) => state.store.get_provider(p).await?,
        None => None,
    }
    .ok_or_else(|| ApiError::no_mandate("the request has no provider yet"))?;
    let filled = filled(state, &r, &provider)
        .await?
        .ok_or_else(|| ApiError::no_mandate("the request's provider has no mandate text"))?;
    super::audit::record(
        state,
        caller.actor(),
        "download_mandate",
        &r.id,
        filled.versions(),
        caller.source.clone(),
    )
    .await?;
    filled.render(&r.id)
}

/// The mandate of a request, filled and ready to render.
pub struct Filled {
    doc: MandateDocument,
}

impl Filled {
    /// What the audit trail says was handed out: the versions.
    pub(crate) fn versions(&self) -> String {
        format!(
            "mandato v{}{}",
            self.doc.mandate.versione,
            if self.doc.privacy_notice.versione > 0 {
                format!(", informativa v{}", self.doc.privacy_notice.versione)
            } else {
                String::new()
            }
        )
    }

    /// The mandate's text as filled with the person's data (what an acceptance's hash covers).
    pub(crate) fn text(&self) -> &str {
        &self.doc.mandate.testo
    }

    pub(crate) fn version(&self) -> i64 {
        self.doc.mandate.versione
    }

    pub(crate) fn service(&self) -> &str {
        &self.doc.service
    }

    pub(crate) fn render(&self, request_id: &str) -> ApiResult<Vec<u8>> {
        pdf::mandate_pdf(&self.doc).map_err(|e| {
            tracing::error!(request = %request_id, error = %e, "the mandate could not be rendered");
            ApiError::internal()
        })
    }
}

/// Request `r`'s mandate at the versions it recorded, filled with the person's data, or None
/// when `provider` has no mandate text. Reads personal data: the caller audits.
pub(crate) async fn filled(
    state: &AppState,
    r: &RequestRecord,
    provider: &ProviderRecord,
) -> ApiResult<Option<Filled>> {
    let service = state.catalog.get(&r.hash_visura).ok_or_else(|| {
        tracing::error!(request = %r.id, "request of a service missing from the catalog");
        ApiError::internal()
    })?;
    let Some(mandato) = text(state, &provider.id, PaperKind::Mandato, r.mandato_versione).await?
    else {
        return Ok(None);
    };
    // A notice is mandatory for a provider (GDPR art. 13) but not enforced by the store: its
    // absence leaves the section empty rather than withholding the mandate.
    let informativa = text(
        state,
        &provider.id,
        PaperKind::Informativa,
        r.informativa_versione,
    )
    .await?;
    let date = local_date(state.clock.now()).map_err(|_| ApiError::internal())?;
    let details = details(provider);
    let values = values(r, service, provider, &details, date);
    Ok(Some(Filled {
        doc: MandateDocument {
            service: service.nome_visura.clone(),
            mandate: VersionedText {
                versione: mandato.versione,
                testo: pdf::fill(&mandato.testo, &values),
            },
            privacy_notice: informativa
                .map(|i| VersionedText {
                    versione: i.versione,
                    testo: i.testo,
                })
                .unwrap_or(VersionedText {
                    versione: 0,
                    testo: String::new(),
                }),
            provider: details,
            date,
        },
    }))
}

/// The provider's text of `kind` at `versione`, or its current one when none was recorded.
async fn text(
    state: &AppState,
    provider_id: &str,
    kind: PaperKind,
    versione: Option<i64>,
) -> ApiResult<Option<ProviderDocument>> {
    Ok(match versione {
        Some(v) => state.store.provider_document(provider_id, kind, v).await?,
        None => {
            state
                .store
                .current_provider_document(provider_id, kind)
                .await?
        }
    })
}

pub(crate) fn details(p: &ProviderRecord) -> ProviderDetails {
    let party = &p.party;
    // "Via Roma 1, Roma (RM)": the parts present, the provincia in brackets after the rest.
    let mut sede = [&party.indirizzo, &party.comune]
        .into_iter()
        .filter_map(|s| s.as_deref())
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(provincia) = &party.provincia {
        if !sede.is_empty() {
            sede.push(' ');
        }
        sede.push_str(&format!("({provincia})"));
    }
    ProviderDetails {
        denominazione: p.name.clone(),
        tipo: party.tipo.clone().unwrap_or_default(),
        codice_fiscale: party.codice_fiscale.clone().unwrap_or_default(),
        sede: (!sede.is_empty()).then_some(sede),
        email: party.email.clone(),
        pec: party.pec.clone(),
        telefono: party.telefono.clone(),
    }
}

/// Every placeholder's value; the person's data only where the request holds it as text.
fn values(
    r: &RequestRecord,
    service: &Service,
    p: &ProviderRecord,
    details: &ProviderDetails,
    date: chrono::NaiveDate,
) -> BTreeMap<&'static str, String> {
    let mut values = BTreeMap::new();
    for (name, key) in service.persona.placeholders() {
        if let Some(StoredValue::Text(t)) = r.fields.get(&key) {
            values.insert(name, t.trim().to_string());
        }
    }
    values.insert("servizio", service.nome_visura.clone());
    values.insert("data", date.format("%d/%m/%Y").to_string());
    values.insert("richiesta", r.id.clone());
    values.insert("fornitore", p.name.clone());
    values.insert("fornitore_codice_fiscale", details.codice_fiscale.clone());
    if let Some(sede) = &details.sede {
        values.insert("sede", sede.clone());
    }
    values
}
