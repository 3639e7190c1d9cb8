//! The practice's file (`fascicolo`, issue 17 §6): one zip with every file of a request (by
//! kind: `input/`, `result/`, and any kind added later under its own folder), the result
//! archive, the filled mandate and `fascicolo.pdf` (the request's data, its history, the notice
//! and mandate versions it was shown, and who looked at it), for the provider's own archive.
//!
//! Downloading it is recorded in the audit trail and, in the same transaction, as the
//! provider's export of the request: with `retention_requires_export`, retention keeps a live
//! processed request's data until that has happened once (`Retention::expired`).
//!
//! The pieces of a request's file (its data as the API renders it, its history, its files) are
//! shared with a person's access request (`service::subjects`).

use serde::Serialize;
use sportello_domain::calendar::{local_date, ROME};
use sportello_domain::catalog::Service;
use sportello_store::audit::AuditEvent;
use sportello_store::crypto::DataKey;
use sportello_store::{FileRecord, HistoryEntry, RequestRecord, StoredValue};
use std::collections::HashMap;

use super::archive::{Archive, Content};
use super::tenancy::load;
use crate::auth::OperatorCaller;
use crate::error::{ApiError, ApiResult};
use crate::paperwork::pdf::{self, CaseFileDocument, Section};
use crate::state::AppState;
use crate::wire::Richiesta;

const CASE_FILE: &str = "fascicolo.pdf";

/// `GET /operator/requests/{id}/fascicolo`: the case file of a request of the operator's queue,
/// ready to be written. Everything that can be refused is decided, and the download recorded,
/// before the first byte.
pub async fn fascicolo(state: &AppState, op: &OperatorCaller, id: &str) -> ApiResult<Archive> {
    let r = load(state, op, id).await?;
    if r.purged_at.is_some() {
        return Err(ApiError::purged());
    }
    let key = super::data_key(state, &r.id).await?;
    let view = RequestView::read(state, &r).await?;
    let mut archive = Archive::new();
    // First in the zip, written last: it lists the other entries.
    archive.add_bytes(CASE_FILE, Vec::new());
    let mut listed = view.add_files(&mut archive, "", &key);
    let mandate = match &view.provider {
        Some(p) => super::mandate::filled(state, &r, p).await?,
        None => None,
    };
    if let Some(m) = &mandate {
        let bytes = m.render(&r.id)?;
        let (size, sha256) = (bytes.len() as u64, sportello_store::ids::sha256_hex(&bytes));
        listed.push((archive.add_bytes("mandato.pdf", bytes), size, sha256));
    }
    let audit = audit_entries(state, &r.id).await?;
    let names = operator_names(state, view.provider.as_ref().map(|p| p.id.as_str())).await?;
    let doc = view.case_file(state, &listed, &audit, &names)?;
    let pdf = tokio::task::spawn_blocking(move || pdf::case_file_pdf(&doc))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(request = %r.id, error = %e, "the case file could not be rendered");
            ApiError::internal()
        })?;
    archive.replace(CASE_FILE, Content::Bytes(pdf.into()));
    let recorded = state
        .store
        .record_fascicolo(&AuditEvent {
            at: state.clock.now(),
            actor: op.actor(),
            action: "download_fascicolo".into(),
            request_id: Some(r.id.clone()),
            detail: format!(
                "{} voci{}",
                archive.len(),
                mandate
                    .as_ref()
                    .map(|m| format!(", {}", m.versions()))
                    .unwrap_or_default()
            ),
            source: op.source.clone(),
        })
        .await?;
    if !recorded {
        // Purged between the read and now: its files are going.
        return Err(ApiError::purged());
    }
    Ok(archive)
}

/// What a request's file says about it, read once: the request as the API renders it, its
/// fields by the catalog's labels, its files and its history.
pub(crate) struct RequestView {
    pub record: RequestRecord,
    pub service: Service,
    pub richiesta: Richiesta,
    pub client_name: String,
    pub provider: Option<sportello_store::ProviderRecord>,
    pub files: Vec<FileRecord>,
    pub history: Vec<HistoryEntry>,
}

/// A field as the file shows it.
#[derive(Debug, Serialize)]
pub(crate) struct Campo {
    pub campo: String,
    pub nome: String,
    pub tipo: String,
    /// The text given; None for a file or a field left empty.
    pub valore: Option<String>,
    /// The name of the file given.
    pub file: Option<String>,
}

/// A history entry as the file shows it.
#[derive(Debug, Serialize)]
pub(crate) struct Passaggio {
    pub timestamp: i64,
    pub stato: String,
    pub azione: String,
    pub attore: String,
    pub nota: Option<String>,
}

/// The entries of a request's files in an archive (name, size, SHA-256), for the PDF's list.
pub(crate) type Listed = Vec<(String, u64, String)>;

impl RequestView {
    pub(crate) async fn read(state: &AppState, r: &RequestRecord) -> ApiResult<RequestView> {
        let service = state.catalog.get(&r.hash_visura).ok_or_else(|| {
            tracing::error!(request = %r.id, "request of a service missing from the catalog");
            ApiError::internal()
        })?;
        let client = state
            .store
            .get_client(&r.client_id)
            .await?
            .ok_or_else(ApiError::internal)?;
        let mut richiesta = Richiesta::render(r, service, &client.owner_email);
        richiesta.fornitore = super::parties::fornitore(state, r.provider_id.as_deref()).await?;
        let provider = match &r.provider_id {
            Some(p) => state.store.get_provider(p).await?,
            None => None,
        };
        Ok(RequestView {
            record: r.clone(),
            service: service.clone(),
            richiesta,
            client_name: client.name,
            provider,
            files: state.store.list_files(&r.id).await?,
            history: state.store.history(&r.id).await?,
        })
    }

    /// The fields in the catalog's `ordine`, with their labels; a file by its name only.
    pub(crate) fn campi(&self) -> Vec<Campo> {
        self.service
            .fields_in_order()
            .into_iter()
            .map(|f| {
                let key = f.key();
                let (valore, file) = match self.record.fields.get(&key) {
                    Some(StoredValue::Text(t)) => (Some(t.clone()), None),
                    Some(StoredValue::File { file }) => (
                        None,
                        Some(
                            self.files
                                .iter()
                                .find(|x| x.id == *file)
                                .map(|x| x.name.clone())
                                .unwrap_or_default(),
                        ),
                    ),
                    None => (None, None),
                };
                Campo {
                    campo: key,
                    nome: f.nome.clone(),
                    tipo: f.tipo.as_str().to_string(),
                    valore,
                    file,
                }
            })
            .collect()
    }

    pub(crate) fn storia(&self) -> Vec<Passaggio> {
        self.history
            .iter()
            .map(|h| Passaggio {
                timestamp: h.at,
                stato: h.status.stato_richiesta().to_string(),
                azione: h.action.clone(),
                attore: h.actor.clone(),
                nota: h.note.clone(),
            })
            .collect()
    }

    /// Adds every file of the request under `prefix` + its kind's folder (`input/`,
    /// `result/`, …: every kind the store lists, so a new one needs nothing here), and the
    /// result archive as `documento.zip`; lists what it added.
    pub(crate) fn add_files(&self, archive: &mut Archive, prefix: &str, key: &DataKey) -> Listed {
        let mut listed = Listed::new();
        for f in &self.files {
            let name = archive.add(
                &format!("{prefix}{}/{}", f.kind.as_str(), entry_name(&f.name, &f.id)),
                Content::Stored {
                    blob_key: f.blob_key.clone(),
                    key: key.clone(),
                },
            );
            listed.push((name, f.size, f.sha256.clone()));
        }
        if let Some(doc) = &self.record.document {
            let name = archive.add(
                &format!("{prefix}documento.zip"),
                Content::Stored {
                    blob_key: doc.blob_key.clone(),
                    key: key.clone(),
                },
            );
            listed.push((name, doc.size, doc.sha256.clone()));
        }
        listed
    }

    fn case_file(
        &self,
        state: &AppState,
        files: &[(String, u64, String)],
        audit: &[sportello_store::audit::AuditEntry],
        names: &HashMap<String, String>,
    ) -> ApiResult<CaseFileDocument> {
        let r = &self.record;
        let date = local_date(state.clock.now()).map_err(|_| ApiError::internal())?;
        let version = |v: Option<i64>| match v {
            Some(v) => format!("versione {v}"),
            None => "non registrata".to_string(),
        };
        let mut pratica = vec![
            ("Identificativo".to_string(), r.id.clone()),
            ("Servizio".to_string(), self.service.nome_visura.clone()),
            ("Stato".to_string(), r.status.stato_richiesta().to_string()),
            (
                "Ambiente".to_string(),
                if r.live { "reale" } else { "di prova" }.to_string(),
            ),
            ("Cliente".to_string(), self.client_name.clone()),
            ("Creata il".to_string(), when(r.created_at)),
        ];
        if let Some(at) = r.closed_at {
            pratica.push(("Chiusa il".to_string(), when(at)));
        }
        if r.status == sportello_domain::status::Status::VisuraEvasa {
            pratica.push((
                "Esito".to_string(),
                format!("{} — {}", r.esito_codice, r.esito_info),
            ));
        }
        if let Some(m) = &r.motivo_annullamento {
            pratica.push(("Motivo dell’annullamento".to_string(), m.clone()));
        }
        if let Some(o) = &r.operator_id {
            pratica.push((
                "Operatore".to_string(),
                who(&format!("operator:{o}"), names),
            ));
        }
        pratica.push((
            "Informativa mostrata".to_string(),
            version(r.informativa_versione),
        ));
        pratica.push(("Mandato mostrato".to_string(), version(r.mandato_versione)));
        let dati = self
            .campi()
            .into_iter()
            .map(|c| {
                let value = match (c.valore, c.file) {
                    (Some(v), _) => v,
                    (None, Some(f)) => format!("file: {f}"),
                    (None, None) => "—".to_string(),
                };
                (c.nome, value)
            })
            .collect();
        let documenti = files
            .iter()
            .map(|(name, size, sha)| (name.clone(), format!("{size} byte · SHA-256 {sha}")))
            .collect();
        let storia = self
            .history
            .iter()
            .map(|h| {
                let mut value = format!(
                    "{} · {} · {}",
                    h.status.stato_richiesta(),
                    h.action,
                    who(&h.actor, names)
                );
                if let Some(n) = &h.note {
                    value.push_str(&format!("\n{n}"));
                }
                (when(h.at), value)
            })
            .collect();
        let accessi = audit
            .iter()
            .map(|e| {
                let mut value = format!("{} · {}", e.event.action, who(&e.event.actor, names));
                if !e.event.detail.is_empty() {
                    value.push_str(&format!(" · {}", e.event.detail));
                }
                (when(e.event.at), value)
            })
            .collect();
        let section = |title: &str, rows: Vec<(String, String)>, empty: &str| Section {
            title: title.to_string(),
            rows,
            empty: empty.to_string(),
        };
        Ok(CaseFileDocument {
            provider: self.provider.as_ref().map(super::mandate::details),
            title: format!("Fascicolo della pratica {}", r.id),
            sections: vec![
                section("La pratica", pratica, ""),
                section("Dati della richiesta", dati, "Nessun dato."),
                section(
                    "Documenti nel fascicolo",
                    documenti,
                    "Nessun documento oltre a questo.",
                ),
                section(
                    "Consensi della persona",
                    consensi(r),
                    "Nessun consenso registrato.",
                ),
                section("Storia della pratica", storia, "Nessun passaggio."),
                section(
                    "Registro degli accessi (audit)",
                    accessi,
                    "Nessuna voce registrata.",
                ),
            ],
            date,
            footer: format!("Fascicolo {}", r.id),
        })
    }
}

/// What the person agreed to, one row each: when, then what, whose text, which version, how.
fn consensi(r: &sportello_store::RequestRecord) -> Vec<(String, String)> {
    use sportello_domain::invitation::{ConsentKind, ConsentMethod};
    r.consensi
        .iter()
        .map(|c| {
            let what = match c.tipo {
                ConsentKind::Informativa => "informativa privacy letta",
                ConsentKind::Mandato => "mandato dato",
            };
            let how = match c.metodo {
                ConsentMethod::CodiceEmail => "sulla pagina, dopo un codice inviato per e-mail",
                ConsentMethod::DocumentoFirmato => "con il documento firmato a mano",
            };
            (
                when(c.timestamp),
                format!(
                    "{what}: {} versione {}, {how}; SHA-256 del testo {}",
                    c.fornitore, c.versione, c.sha256_testo
                ),
            )
        })
        .collect()
}

/// A stored file's name as an entry's: no folders of its own, never empty.
fn entry_name(name: &str, id: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if base.is_empty() || base == "." || base == ".." {
        id.to_string()
    } else {
        base.to_string()
    }
}

/// Every audit entry about request `id`, oldest first.
pub(crate) async fn audit_entries(
    state: &AppState,
    id: &str,
) -> ApiResult<Vec<sportello_store::audit::AuditEntry>> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = state.store.audit_entries(after, 1000, Some(id)).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        all.extend(page);
    }
    Ok(all)
}

/// The provider's operators by id, to name them in the history.
async fn operator_names(
    state: &AppState,
    provider_id: Option<&str>,
) -> ApiResult<HashMap<String, String>> {
    Ok(state
        .store
        .list_operators()
        .await?
        .into_iter()
        .filter(|o| Some(o.provider_id.as_str()) == provider_id)
        .map(|o| (o.id, o.name))
        .collect())
}

/// An actor as the file names it: an operator of the provider by name, the others as recorded.
fn who(actor: &str, names: &HashMap<String, String>) -> String {
    match actor
        .strip_prefix("operator:")
        .and_then(|id| names.get(id).map(|n| (id, n)))
    {
        Some((id, name)) => format!("{name} (operatore {id})"),
        None => actor.to_string(),
    }
}

/// Unix seconds as Italian local time.
fn when(unix: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(unix, 0)
        .map(|t| t.with_timezone(&ROME).format("%d/%m/%Y %H:%M").to_string())
        .unwrap_or_default()
}
