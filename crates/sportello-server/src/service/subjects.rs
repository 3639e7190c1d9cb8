//! A person's access request (GDPR art. 15, and portability, art. 20): every request about a
//! codice fiscale, found through the keyed hash index (`Subjects::find_by_subject`, the same
//! index the erasure uses), as one zip: `indice.json` (what the archive holds), then per request
//! `<id>/richiesta.json` (its data as the API renders it, its fields by the catalog's labels,
//! its history) and its files under `<id>/input/`, `<id>/result/`, …, with `<id>/documento.zip`.
//! Requests whose data was purged are not in the index any more: nothing is left to give.
//!
//! Called by `POST /admin/subjects/export` and by `sportello export`; the codice fiscale is in
//! neither a URL nor the audit trail nor a log: each request exported is recorded by id, and the
//! export itself by its count.

use serde::Serialize;
use sportello_domain::fields::codice_fiscale::CodiceFiscale;
use sportello_domain::fields::partita_iva::PartitaIva;

use super::archive::Archive;
use super::fascicolo::{Campo, Passaggio, RequestView};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::wire::Richiesta;

/// The export, ready to be written.
pub struct Export {
    pub archive: Archive,
    /// How many requests it holds.
    pub requests: usize,
}

/// What `indice.json` says.
#[derive(Serialize)]
struct Index {
    richieste: Vec<String>,
    nota: &'static str,
}

/// `<id>/richiesta.json`.
#[derive(Serialize)]
struct RequestFile {
    richiesta: Richiesta,
    campi: Vec<Campo>,
    storia: Vec<Passaggio>,
    file: Vec<FileEntry>,
}

#[derive(Serialize)]
struct FileEntry {
    nome: String,
    dimensione: u64,
    sha256: String,
}

const FOUND: &str = "Dati personali trattati da Sportello che riguardano il codice fiscale \
                     indicato (art. 15 e 20 del Regolamento UE 2016/679): per ogni richiesta, \
                     la cartella con il suo identificativo contiene richiesta.json (i dati e la \
                     storia) e i file.";
const NONE_FOUND: &str = "Nessuna richiesta con dati personali conservati riguarda il codice \
                          fiscale indicato.";

/// Every request about `codice_fiscale` (a codice fiscale, or a partita IVA: the index holds
/// both), recorded in the audit trail as exported by `actor`.
pub async fn export(
    state: &AppState,
    actor: String,
    source: Option<String>,
    codice_fiscale: &str,
) -> ApiResult<Export> {
    let code = canonical(codice_fiscale)?;
    let ids = state.store.find_by_subject(&code).await?;
    let mut archive = Archive::new();
    archive.add_bytes("indice.json", Vec::new());
    let mut exported = Vec::new();
    for id in ids {
        let Some(r) = state.store.get_request(&id).await? else {
            continue;
        };
        if r.purged_at.is_some() {
            continue;
        }
        // Purged between the look-up and now: nothing left to give.
        let Some(key) = state.store.data_key(&r.id).await? else {
            continue;
        };
        let view = RequestView::read(state, &r).await?;
        let listed = view.add_files(&mut archive, &format!("{id}/"), &key);
        let file = RequestFile {
            richiesta: view.richiesta.clone(),
            campi: view.campi(),
            storia: view.storia(),
            file: listed
                .into_iter()
                .map(|(nome, dimensione, sha256)| FileEntry {
                    nome,
                    dimensione,
                    sha256,
                })
                .collect(),
        };
        archive.add_bytes(&format!("{id}/richiesta.json"), json(&file)?);
        super::audit::record(
            state,
            actor.clone(),
            "export_subject",
            &id,
            "accesso dell'interessato (art. 15 GDPR)".into(),
            source.clone(),
        )
        .await?;
        exported.push(id);
    }
    super::audit::event(
        state,
        actor,
        "export_subject",
        None,
        format!("{} richieste", exported.len()),
        source,
    )
    .await?;
    let requests = exported.len();
    let index = Index {
        nota: if exported.is_empty() {
            NONE_FOUND
        } else {
            FOUND
        },
        richieste: exported,
    };
    archive.replace(
        "indice.json",
        super::archive::Content::Bytes(json(&index)?.into()),
    );
    Ok(Export { archive, requests })
}

/// The form the index keys on, or 400/915 naming the member (never quoting it).
fn canonical(raw: &str) -> ApiResult<String> {
    let raw = raw.trim();
    if raw.len() == 11 && raw.bytes().all(|b| b.is_ascii_digit()) {
        return PartitaIva::parse(raw)
            .map(|p| p.as_str().to_string())
            .map_err(|e| ApiError::invalid_member("codice_fiscale", "piva", &e.to_string()));
    }
    CodiceFiscale::parse(raw)
        .map(|_| super::requests::subject_key(raw))
        .map_err(|e| ApiError::invalid_member("codice_fiscale", e.code(), &e.to_string()))
}

fn json<T: Serialize>(value: &T) -> ApiResult<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|_| ApiError::internal())
}
