//! The form step of the person's page: the fields the client left empty (with the catalog's
//! labels and `istruzioni`), checked as the API checks them, errors in Italian next to each
//! field and the values kept; files and the checklist's documents as uploads. Also the answer to
//! an operator's request for more (fields and documents), which reads the same way.

use askama::Template;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use sportello_domain::catalog::Field;
use sportello_domain::fields::FieldType;
use sportello_domain::invitation::mask_codice_fiscale;
use sportello_store::{FileKind, StoredValue};
use std::collections::BTreeMap;

use super::{open, open_request, page, see_other, steps, Person, PersonError, PersonResult, Step};
use crate::backoffice::session::Source;
use crate::error::ApiError;
use crate::service::invitations;
use crate::state::AppState;

/// The multipart body of a form of the page, its first part the CSRF token (checked before any
/// other part is read).
pub(super) async fn multipart(
    state: &AppState,
    person: &Person,
    req: Request,
) -> Result<Multipart, PersonError> {
    let unreadable = || {
        PersonError::Refused(
            StatusCode::BAD_REQUEST,
            "Il modulo inviato non è leggibile: riprova.".into(),
        )
    };
    let mut parts = Multipart::from_request(req, state)
        .await
        .map_err(|_| unreadable())?;
    let first = parts.next_field().await.map_err(|_| unreadable())?;
    let csrf = match first {
        Some(p) if p.name() == Some("csrf") => Some(p.text().await.map_err(|_| unreadable())?),
        _ => None,
    };
    person.check_csrf(csrf.as_deref())?;
    Ok(parts)
}

/// A refused file, in words (the validator's codes, never the content).
pub(super) fn file_words(e: &ApiError) -> String {
    match e.details.first() {
        Some(d) => sportello_domain::fields::italian(&d.codice).to_string(),
        None => {
            "Il file non è stato accettato: carica un PDF, una foto JPEG o un'immagine PNG.".into()
        }
    }
}

/// A value as a page shows it: a codice fiscale masked.
pub(super) fn display(tipo: FieldType, value: &str) -> String {
    match tipo {
        FieldType::CodiceFiscale | FieldType::CodiceFiscalePersonaFisica => {
            mask_codice_fiscale(value)
        }
        _ => value.trim().to_string(),
    }
}

/// One field of the form as the template draws it.
pub struct Input {
    /// The HTML name and id (`c3` for `$3`).
    pub name: String,
    pub label: String,
    pub hint: String,
    /// `text`, `email`, `date` or `file`.
    pub kind: &'static str,
    pub value: String,
    /// What is saved, when the input is not refilled with it (a codice fiscale, a file).
    pub saved: Option<String>,
    pub error: Option<String>,
    pub autocomplete: &'static str,
    pub uppercase: bool,
    /// The ids of the hint, the saved value and the error, for `aria-describedby`.
    pub describedby: String,
}

impl Input {
    /// The input for field `f`: `typed` is what the person just sent (kept on an error);
    /// `saved` what the draft holds.
    pub fn of(
        f: &Field,
        typed: Option<&String>,
        errors: &[(String, String)],
        saved: Option<String>,
    ) -> Input {
        let key = f.key();
        let kind = match f.tipo {
            FieldType::File => "file",
            FieldType::Email => "email",
            FieldType::DataIso8601 => "date",
            _ => "text",
        };
        let is_cf = matches!(
            f.tipo,
            FieldType::CodiceFiscale | FieldType::CodiceFiscalePersonaFisica
        );
        let autocomplete = match (f.tipo, f.nome.to_lowercase()) {
            (FieldType::Email, _) => "email",
            (_, n) if n.contains("cognome") => "family-name",
            (_, n) if n.trim() == "nome" || n.starts_with("nome ") => "given-name",
            _ => "off",
        };
        // A codice fiscale or a file already saved is not refilled: the page names it.
        let (value, saved) = match (typed, saved) {
            (Some(t), s) => (t.clone(), s.filter(|_| kind == "file")),
            (None, Some(s)) if is_cf => (String::new(), Some(display(f.tipo, &s))),
            (None, Some(s)) if kind == "file" => (String::new(), Some(s)),
            (None, Some(s)) => (s, None),
            (None, None) => (String::new(), None),
        };
        let name = format!("c{}", f.index);
        let error = errors
            .iter()
            .find(|(campo, _)| *campo == key)
            .map(|(_, e)| e.clone());
        let describedby = [
            (!f.istruzioni.trim().is_empty()).then(|| format!("{name}-aiuto")),
            saved.as_ref().map(|_| format!("{name}-salvato")),
            error.as_ref().map(|_| format!("{name}-errore")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        Input {
            name,
            label: f.nome.clone(),
            hint: f.istruzioni.clone(),
            kind,
            value,
            saved,
            error,
            autocomplete,
            uppercase: is_cf || matches!(f.tipo, FieldType::CodProvincia | FieldType::CodComune),
            describedby,
        }
    }
}

/// A value the client gave, shown read-only.
pub struct Given {
    pub label: String,
    pub value: String,
}

/// A document of the service's checklist, with whether one arrived.
pub struct ChecklistDoc {
    pub codice: String,
    pub descrizione: String,
    pub obbligatorio: bool,
    pub note: String,
    pub supplied: Option<String>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "persona/modulo.html")]
struct FormPage {
    base: String,
    csrf: String,
    steps: Vec<Step>,
    servizio: String,
    given: Vec<Given>,
    inputs: Vec<Input>,
    documents: Vec<ChecklistDoc>,
    notice: Option<String>,
    has_errors: bool,
    doc_error: Option<String>,
}

async fn form_page(
    state: &AppState,
    person: &Person,
    status: StatusCode,
    typed: &BTreeMap<String, String>,
    errors: &[(String, String)],
    notice: Option<String>,
    doc_error: Option<String>,
) -> PersonResult {
    let r = &person.visit.request;
    let service = state
        .catalog
        .get(&r.hash_visura)
        .ok_or(PersonError::Internal)?;
    let files = state.store.list_files(&r.id).await?;
    let prefilled = &person.visit.invitation.prefilled;
    let mut given = Vec::new();
    let mut inputs = Vec::new();
    for f in service.fields_in_order() {
        let key = f.key();
        let saved = r.fields.get(&key).and_then(|v| match v {
            StoredValue::Text(t) if t.trim().is_empty() => None,
            StoredValue::Text(t) if f.tipo == FieldType::File => {
                Some(format!("«{}»", inline_name(t)))
            }
            StoredValue::Text(t) => Some(t.clone()),
            StoredValue::File { file } => files
                .iter()
                .find(|x| x.id == *file)
                .map(|x| format!("«{}»", x.name)),
        });
        if prefilled.contains(&key) {
            given.push(Given {
                label: f.nome.clone(),
                value: saved
                    .map(|s| display(f.tipo, &s))
                    .unwrap_or_else(|| "—".into()),
            });
        } else {
            inputs.push(Input::of(f, typed.get(&key), errors, saved));
        }
    }
    let documents = service
        .documenti
        .iter()
        .filter(|d| d.codice != sportello_domain::checklist::MANDATO)
        .map(|d| ChecklistDoc {
            codice: d.codice.clone(),
            descrizione: d.descrizione.clone(),
            obbligatorio: d.obbligatorio,
            note: d.note.clone().unwrap_or_default(),
            supplied: files
                .iter()
                .filter(|x| x.kind == FileKind::Supporting && x.campo.as_deref() == Some(&d.codice))
                .map(|x| x.name.clone())
                .next_back(),
            error: errors
                .iter()
                .find(|(campo, _)| *campo == format!("documenti.{}", d.codice))
                .map(|(_, e)| e.clone()),
        })
        .collect();
    let t = FormPage {
        base: person.base(),
        csrf: person.csrf(),
        steps: steps(person, "modulo"),
        servizio: service.nome_visura.clone(),
        given,
        inputs,
        documents,
        notice,
        has_errors: !errors.is_empty(),
        doc_error,
    };
    page(state, person, status, t)
}

/// The name in an inline file value (`name|data:…`), or a generic one.
fn inline_name(raw: &str) -> String {
    match raw.rsplit_once('|') {
        Some((name, _)) if !name.trim().is_empty() => name.trim().chars().take(100).collect(),
        _ => "file caricato".into(),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct FormQuery {
    esito: Option<String>,
}

/// `GET /compila/{link}/modulo`.
pub async fn show(
    State(state): State<AppState>,
    Path(link): Path<String>,
    axum::extract::Query(q): axum::extract::Query<FormQuery>,
    headers: HeaderMap,
    Source(source): Source,
) -> PersonResult {
    let person = open(&state, &link, &headers, source.clone()).await?;
    person.require_session()?;
    if person.visit.submitted() {
        return Err(PersonError::Redirect(format!("{}/pratica", person.base())));
    }
    invitations::viewed(&state, &person.visit, "modulo", source).await?;
    let notice =
        (q.esito.as_deref() == Some("documento")).then(|| "Documento ricevuto.".to_string());
    form_page(
        &state,
        &person,
        StatusCode::OK,
        &BTreeMap::new(),
        &[],
        notice,
        None,
    )
    .await
}

/// The values of a multipart form of fields (`c<n>` parts): text as typed, files as the API's
/// inline `name|data:<mime>;base64,…`, each file read within the file limit. Documents
/// (`d_<codice>` parts) are streamed into the store as they come, for `documents_of`.
async fn read_values(
    state: &AppState,
    parts: &mut Multipart,
    documents_of: Option<&Person>,
) -> Result<(BTreeMap<String, String>, Vec<(String, String)>), PersonError> {
    let unreadable = || {
        PersonError::Refused(
            StatusCode::BAD_REQUEST,
            "Il modulo non è arrivato per intero: riprova.".into(),
        )
    };
    let max = state.limits.max_file_bytes;
    let mut values = BTreeMap::new();
    let mut errors = Vec::new();
    let mut count = 0usize;
    while let Some(mut part) = parts.next_field().await.map_err(|_| unreadable())? {
        count += 1;
        if count > 200 {
            return Err(unreadable());
        }
        if let (Some(person), Some(codice)) = (
            documents_of,
            part.name()
                .and_then(|n| n.strip_prefix("d_"))
                .map(str::to_string),
        ) {
            let Some(file_name) = part
                .file_name()
                .filter(|f| !f.is_empty())
                .map(str::to_string)
            else {
                continue;
            };
            match invitations::supply_document(
                state,
                &person.visit,
                &codice,
                &file_name,
                part,
                person.source.clone(),
            )
            .await
            {
                Ok(_) => {}
                Err(e) if e.status.is_client_error() => {
                    errors.push((format!("documenti.{codice}"), file_words(&e)))
                }
                Err(e) => return Err(e.into()),
            }
            continue;
        }
        let Some(key) = part
            .name()
            .and_then(|n| n.strip_prefix('c'))
            .and_then(|n| n.parse::<u32>().ok())
            .map(|n| format!("${n}"))
        else {
            continue;
        };
        match part.file_name().map(str::to_string) {
            Some(file_name) => {
                if file_name.is_empty() {
                    continue;
                }
                let mut bytes = Vec::new();
                let mut too_large = false;
                while let Some(chunk) = part.chunk().await.map_err(|_| unreadable())? {
                    if bytes.len() + chunk.len() > max {
                        too_large = true;
                        break;
                    }
                    bytes.extend_from_slice(&chunk);
                }
                if too_large {
                    errors.push((
                        key,
                        sportello_domain::fields::italian("file_too_large").into(),
                    ));
                    continue;
                }
                if bytes.is_empty() {
                    continue;
                }
                let mime = part
                    .content_type()
                    .filter(|m| m.len() < 100 && !m.contains([';', ',']))
                    .unwrap_or("application/octet-stream")
                    .to_string();
                let name: String = file_name
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| !c.is_control() && *c != '|')
                    .take(100)
                    .collect();
                let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
                values.insert(key, format!("{name}|data:{mime};base64,{b64}"));
            }
            None => {
                let text = part.text().await.map_err(|_| unreadable())?;
                if text.chars().count() > 10_000 {
                    errors.push((key, sportello_domain::fields::italian("too_long").into()));
                    continue;
                }
                if !text.trim().is_empty() {
                    values.insert(key, text);
                }
            }
        }
    }
    Ok((values, errors))
}

/// A 412's details as the page shows them, by `$n`.
fn field_errors(e: &ApiError) -> Vec<(String, String)> {
    e.details
        .iter()
        .map(|d| {
            (
                d.campo.clone(),
                sportello_domain::fields::italian(&d.codice).to_string(),
            )
        })
        .collect()
}

/// `POST /compila/{link}/modulo` (multipart): saves the draft; on to the mandate.
pub async fn save(
    State(state): State<AppState>,
    Path(link): Path<String>,
    req: Request,
) -> PersonResult {
    let (person, req) = open_request(&state, &link, req).await?;
    person.require_session()?;
    let mut parts = multipart(&state, &person, req).await?;
    let (values, mut errors) = read_values(&state, &mut parts, Some(&person)).await?;
    // A draft takes any value (the API checks its content at submission): the person is told
    // now, next to the field, what the submission would refuse.
    errors.extend(
        invitations::problems(&state, &person.visit.request, &values)?
            .into_iter()
            .map(|d| {
                (
                    d.campo,
                    sportello_domain::fields::italian(&d.codice).to_string(),
                )
            }),
    );
    // What passed is saved even when something else did not: the files chosen need not be
    // chosen again, and the page's "the right data was kept" is true.
    let (wrong, right): (BTreeMap<_, _>, BTreeMap<_, _>) = values
        .into_iter()
        .partition(|(k, _)| errors.iter().any(|(campo, _)| campo == k));
    let mut saved = false;
    if !right.is_empty() || errors.is_empty() {
        match invitations::save_form(&state, &person.visit, right, person.source.clone()).await {
            Ok(_) => saved = true,
            Err(e) if e.status == StatusCode::PRECONDITION_FAILED => {
                errors.extend(field_errors(&e))
            }
            Err(e) => return Err(e.into()),
        }
    }
    if errors.is_empty() {
        return Ok(person.finish(&state, see_other(format!("{}/mandato", person.base()))));
    }
    // The page as the draft is now, with what was refused as typed (files are not sent back).
    let person = if saved {
        person.reread(&state).await?
    } else {
        person
    };
    let typed = wrong
        .into_iter()
        .filter(|(_, v)| !v.contains(";base64,"))
        .collect();
    form_page(
        &state,
        &person,
        StatusCode::BAD_REQUEST,
        &typed,
        &errors,
        None,
        None,
    )
    .await
}

/// `POST /compila/{link}/documenti` (multipart: `csrf`, `codice`, `ritorno`, `file`): one
/// document, streamed into the store; back to the form or to the status page.
pub async fn document(
    State(state): State<AppState>,
    Path(link): Path<String>,
    req: Request,
) -> PersonResult {
    let (person, req) = open_request(&state, &link, req).await?;
    person.require_session()?;
    let mut parts = multipart(&state, &person, req).await?;
    let unreadable = || {
        PersonError::Refused(
            StatusCode::BAD_REQUEST,
            "Il documento non è arrivato per intero: riprova.".into(),
        )
    };
    let mut codice = None;
    let mut back_to_status = person.visit.submitted();
    let outcome = loop {
        let Some(part) = parts.next_field().await.map_err(|_| unreadable())? else {
            break Err("Scegli il file da caricare.".to_string());
        };
        match part.name() {
            Some("codice") => codice = Some(part.text().await.map_err(|_| unreadable())?),
            Some("ritorno") => {
                back_to_status = part.text().await.map_err(|_| unreadable())? == "pratica"
            }
            Some("file") if part.file_name().is_some_and(|f| !f.is_empty()) => {
                let Some(codice) = codice.clone() else {
                    break Err("Scegli il documento da caricare.".to_string());
                };
                let name = part.file_name().unwrap_or("documento").to_string();
                // The mandate an operator asked for is the hand-signed one: stored as the
                // mandate page stores it, with the person's consent (`documento_firmato`).
                let supplied = if codice == sportello_domain::checklist::MANDATO {
                    invitations::signed_mandate(
                        &state,
                        &person.visit,
                        &name,
                        part,
                        person.source.clone(),
                    )
                    .await
                } else {
                    invitations::supply_document(
                        &state,
                        &person.visit,
                        &codice,
                        &name,
                        part,
                        person.source.clone(),
                    )
                    .await
                };
                match supplied {
                    Ok(_) => break Ok(()),
                    Err(e) if e.status == StatusCode::PRECONDITION_FAILED => {
                        break Err(file_words(&e))
                    }
                    Err(e) if e.status == StatusCode::BAD_REQUEST => {
                        break Err("Questo documento non si può caricare qui.".to_string())
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            _ => {}
        }
    };
    match (outcome, back_to_status) {
        (Ok(()), true) => Ok(person.finish(
            &state,
            see_other(format!("{}/pratica?esito=documento", person.base())),
        )),
        (Ok(()), false) => Ok(person.finish(
            &state,
            see_other(format!(
                "{}/modulo?esito=documento#documenti",
                person.base()
            )),
        )),
        (Err(why), true) => {
            // The page as it is now, with the reason next to the documents.
            let person = person.reread(&state).await?;
            super::pages::status_page(
                &state,
                &person,
                StatusCode::BAD_REQUEST,
                None,
                vec![("documenti".into(), why)],
                &BTreeMap::new(),
                false,
            )
            .await
        }
        (Err(why), false) => {
            form_page(
                &state,
                &person,
                StatusCode::BAD_REQUEST,
                &BTreeMap::new(),
                &[],
                None,
                Some(why),
            )
            .await
        }
    }
}

/// `POST /compila/{link}/integrazione` (multipart): the fields an operator asked for.
pub async fn integration(
    State(state): State<AppState>,
    Path(link): Path<String>,
    req: Request,
) -> PersonResult {
    let (person, req) = open_request(&state, &link, req).await?;
    person.require_session()?;
    let mut parts = multipart(&state, &person, req).await?;
    let (values, mut errors) = read_values(&state, &mut parts, None).await?;
    if errors.is_empty() {
        match invitations::supply_fields(
            &state,
            &person.visit,
            values.clone(),
            person.source.clone(),
        )
        .await
        {
            Ok(_) => {
                return Ok(person.finish(
                    &state,
                    see_other(format!("{}/pratica?esito=dati", person.base())),
                ))
            }
            Err(e) if e.status == StatusCode::PRECONDITION_FAILED => errors = field_errors(&e),
            Err(e) => return Err(e.into()),
        }
    }
    let typed = values
        .into_iter()
        .filter(|(_, v)| !v.contains(";base64,"))
        .collect();
    super::pages::status_page(
        &state,
        &person,
        StatusCode::BAD_REQUEST,
        None,
        errors,
        &typed,
        false,
    )
    .await
}
