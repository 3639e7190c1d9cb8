//! The compat API's JSON shapes, exactly as the commercial API spells them, and how our records
//! become them.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;
use sportello_domain::catalog::{Service, Turnaround};
use sportello_domain::checklist;
use sportello_store::RequestRecord;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A price on the wire: a JSON number, an integer when it is whole (`19`, `14.7`), as the
/// commercial API prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(value_type = f64)]
pub struct Money(pub Decimal);

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0.normalize();
        if d.scale() == 0 {
            if let Some(i) = d.to_i64() {
                return s.serialize_i64(i);
            }
        }
        s.serialize_f64(d.to_f64().unwrap_or(0.0))
    }
}

pub fn money(d: Decimal) -> Money {
    Money(d)
}

/// An item of `GET /visure`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisuraSummary {
    pub nome_visura: String,
    pub nome_categoria: String,
    pub hash_visura: String,
}

/// `GET /visure/{hash_visura}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Visura {
    pub hash_visura: String,
    pub json_struttura: JsonStruttura,
    pub nome_categoria: String,
    pub nome_visura: String,
    pub opzioni: Vec<Opzione>,
    pub prezzo_ricerca: Money,
    pub prezzo_visura: Money,
    pub ricerca: bool,
    pub sincrona: bool,
    pub fornitori: Vec<String>,
    /// Extension: the stated turnaround, in working hours or working days.
    pub tempi_lavorazione: TempiLavorazione,
    /// Extension: the shorter turnaround of a request with the `urgenza` option.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tempi_lavorazione_urgenza: Option<TempiLavorazione>,
    /// Extension: days personal data is kept after the request is closed.
    pub conservazione_giorni: u32,
    /// Extension: the service's checklist, the documents the provider needs beyond the form (which
    /// a client may upload up front); `[]` when the service has none.
    pub documenti: Vec<DocumentoChecklist>,
    /// Extension: whether a request needs the person's signed mandate to its provider (the form's
    /// copy, or the document `mandato`) before it can be closed.
    pub mandato_richiesto: bool,
}

/// Extension: an entry of a service's checklist.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentoChecklist {
    /// The slug that names this document in an integration request and an upload
    /// (`[a-z0-9_]`, at most 64).
    pub codice: String,
    /// What the person provides, in Italian.
    pub descrizione: String,
    /// Whether every request of the service needs it (otherwise only in the cases `note` says).
    pub obbligatorio: bool,
    /// When it is needed, or how to get it; null when there is nothing to add.
    pub note: Option<String>,
}

impl DocumentoChecklist {
    pub fn from_documento(d: &checklist::Documento) -> DocumentoChecklist {
        DocumentoChecklist {
            codice: d.codice.clone(),
            descrizione: d.descrizione.clone(),
            obbligatorio: d.obbligatorio,
            note: d.note.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TempiLavorazione {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ore_lavorative: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub giorni_lavorativi: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JsonStruttura {
    /// `$0`, `$1`, … in index order.
    #[schema(value_type = BTreeMap<String, Campo>)]
    pub campi: Campi,
    pub validazione: String,
    pub istruzioni: String,
    pub istruzioni_ricerca: String,
}

/// The fields as a JSON object kept in index order (`$2` before `$10`).
#[derive(Debug)]
pub struct Campi(pub Vec<(String, Campo)>);

impl Serialize for Campi {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Campo {
    pub nome: String,
    pub tipo: String,
    pub null: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordine: Option<String>,
    pub istruzioni: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Opzione {
    pub tipo: String,
    pub prezzo: Money,
    pub nome: String,
}

impl Visura {
    /// `hash` is the one the client asked with: an alias answers with itself.
    pub fn from_service(service: &Service, hash: &str) -> Visura {
        let (ore, giorni) = match service.turnaround {
            Turnaround::WorkingHours(h) => (Some(h), None),
            Turnaround::WorkingDays(d) => (None, Some(d)),
        };
        Visura {
            hash_visura: hash.to_string(),
            json_struttura: JsonStruttura {
                campi: Campi(
                    service
                        .fields
                        .iter()
                        .map(|f| {
                            (
                                f.key(),
                                Campo {
                                    nome: f.nome.clone(),
                                    tipo: f.tipo.as_str().to_string(),
                                    null: f.null,
                                    ordine: f.ordine.clone(),
                                    istruzioni: f.istruzioni.clone(),
                                },
                            )
                        })
                        .collect(),
                ),
                validazione: service.validazione.clone(),
                istruzioni: service.istruzioni.clone(),
                istruzioni_ricerca: service.istruzioni_ricerca.clone(),
            },
            nome_categoria: service.nome_categoria.clone(),
            nome_visura: service.nome_visura.clone(),
            opzioni: service
                .opzioni
                .iter()
                .map(|o| Opzione {
                    tipo: o.tipo.clone(),
                    prezzo: money(o.prezzo),
                    nome: o.nome.clone(),
                })
                .collect(),
            prezzo_ricerca: money(service.prezzo_ricerca),
            prezzo_visura: money(service.prezzo_visura),
            ricerca: service.ricerca,
            sincrona: service.sincrona,
            fornitori: service.fornitori.clone(),
            tempi_lavorazione: TempiLavorazione {
                ore_lavorative: ore,
                giorni_lavorativi: giorni,
            },
            tempi_lavorazione_urgenza: service.urgent_turnaround.map(|t| match t {
                Turnaround::WorkingHours(h) => TempiLavorazione {
                    ore_lavorative: Some(h),
                    giorni_lavorativi: None,
                },
                Turnaround::WorkingDays(d) => TempiLavorazione {
                    ore_lavorative: None,
                    giorni_lavorativi: Some(d),
                },
            }),
            conservazione_giorni: service.retention_days,
            documenti: service
                .documenti
                .iter()
                .map(DocumentoChecklist::from_documento)
                .collect(),
            mandato_richiesto: service.mandato_richiesto,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Esito {
    pub codice: String,
    pub info: String,
}

/// Extension: what an operator asked the client to supply.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Integrazione {
    pub messaggio: String,
    /// The `$n` fields to send again with `PUT /richiesta/{_id}`.
    pub campi: Vec<String>,
    /// The documents to send with `POST /richiesta/{_id}/documenti`.
    pub documenti: Vec<DocumentoRichiesto>,
    pub timestamp: i64,
}

/// Extension: a document an operator asks for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentoRichiesto {
    /// The slug to send it with (`contratto_locazione`).
    pub codice: String,
    pub descrizione: String,
    /// Whether a document with this codice has arrived since it was asked.
    pub fornito: bool,
}

/// Extension: a document supplied beyond the form (never its content).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentoFornito {
    pub id: String,
    pub codice: String,
    /// The file's name, with the extension of its detected type.
    pub nome: String,
    /// Bytes.
    pub dimensione: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// When it was supplied (Unix seconds).
    pub timestamp: i64,
}

impl DocumentoFornito {
    /// The supporting documents among a request's files, oldest first.
    pub fn list(files: &[sportello_store::FileRecord]) -> Vec<DocumentoFornito> {
        files
            .iter()
            .filter(|f| f.kind == sportello_store::FileKind::Supporting)
            .map(|f| DocumentoFornito {
                id: f.id.clone(),
                codice: f.campo.clone().unwrap_or_default(),
                nome: f.name.clone(),
                dimensione: f.size,
                sha256: f.sha256.clone(),
                timestamp: f.created_at,
            })
            .collect()
    }
}

/// A request, as `POST /richiesta`, `GET /richiesta/{_id}` and `PUT` answer it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Richiesta {
    #[serde(rename = "_id")]
    pub id: Option<String>,
    pub state: u8,
    pub hash_visura: String,
    pub nome: String,
    pub ricerca: bool,
    pub id_ricerca: Option<String>,
    pub prezzo_visura: Money,
    pub prezzo_ricerca: Money,
    pub indice_ricerca: Option<u32>,
    pub stato_richiesta: String,
    pub email_target: Option<String>,
    pub allegati: Vec<String>,
    pub timestamp_creation: i64,
    pub timestamp_last_update: i64,
    pub timestamp_stati: BTreeMap<String, i64>,
    /// `false` when none was given, as in the commercial API.
    #[schema(value_type = Object)]
    pub callback_data: Value,
    /// The chosen options, or null.
    pub opzioni: Option<Vec<Opzione>>,
    pub owner: String,
    pub sincrona: bool,
    #[schema(value_type = Vec<Object>)]
    pub ricerche: Vec<Value>,
    pub esito: Esito,
    /// Extension: the service price plus the chosen options, before VAT (`prezzo.imponibile`).
    pub prezzo_totale: Money,
    /// Extension: the price lines with their VAT, as debited from a live wallet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prezzo: Option<Prezzo>,
    /// Extension: false for requests made with a test token.
    pub live: bool,
    /// Extension: when its personal data will be destroyed (Unix seconds; null while open).
    pub delete_after: Option<i64>,
    /// Extension: true once its personal data has been destroyed.
    pub purged: bool,
    /// Extension: when the work is due (Unix seconds), fixed at submission on the provider's
    /// working calendar; it moves later by the working time spent waiting for the client's
    /// integration. Null for a draft.
    pub scadenza: Option<i64>,
    /// Extension: true once the request went past `scadenza` while open.
    pub scaduta: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motivo_annullamento: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrazione: Option<Integrazione>,
    /// Extension: the CAF or Patronato the request is routed to (from its creation, drafts
    /// included); null while no provider offers the service.
    pub fornitore: Option<Fornitore>,
    /// Extension: the documents supplied beyond the form (`POST /richiesta/{_id}/documenti`).
    pub documenti: Vec<DocumentoFornito>,
    /// Extension: the invitation of the person the practice is about to their own page
    /// (`POST /richiesta/{_id}/invito`); null when none was made.
    pub invito: Option<Invito>,
    /// Extension: what the person agreed to, in order (the provider's privacy notice read, its
    /// mandate accepted or signed).
    pub consensi: Vec<Consenso>,
}

/// Extension: an invitation of the person to their own page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invito {
    pub id: String,
    /// The person's address: the codes, and with `consegna: "email"` the link, go there.
    pub email: String,
    /// `email` (Sportello mails the link) or `link` (the client delivers it).
    pub consegna: String,
    /// `inviato`, `aperto` (the person entered the first code), `completato` (submitted from
    /// the page), `revocato`, `scaduto`.
    pub stato: String,
    /// Until when the link opens the page before the practice is submitted (Unix seconds);
    /// once submitted, it works until `invito_giorni_dopo_chiusura` days after the close.
    pub scadenza: i64,
    /// Whether the page offers the result to download once processed.
    pub risultato_visibile: bool,
    /// When each `stato` was entered (Unix seconds).
    pub timestamp_stati: BTreeMap<String, i64>,
    /// The page's address, only in the answer of the `POST` that made a `consegna: "link"`
    /// invitation: it is not stored and cannot be read again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Invito {
    /// `stato` as of `now`: an invitation whose time ran out reads `scaduto` even before
    /// anyone tried the link.
    pub fn of(
        inv: &sportello_domain::invitation::Invitation,
        r: &RequestRecord,
        days_after_close: u32,
        now: i64,
    ) -> Invito {
        use sportello_domain::invitation::{Closed, State};
        let stato = match inv.access(
            r.status != sportello_domain::status::Status::Draft,
            r.closed_at,
            days_after_close,
            now,
        ) {
            Err(Closed::Expired) if inv.stato != State::Revocato => State::Scaduto,
            _ => inv.stato,
        };
        Invito {
            id: inv.id.clone(),
            email: inv.email.clone(),
            consegna: inv.consegna.as_str().to_string(),
            stato: stato.as_str().to_string(),
            scadenza: inv.scadenza,
            risultato_visibile: inv.risultato_visibile,
            timestamp_stati: inv.timestamp_stati.clone(),
            url: None,
        }
    }
}

/// Extension: something the person agreed to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Consenso {
    /// `informativa` (the privacy notice, read on the page) or `mandato`.
    pub tipo: String,
    /// The provider whose text it was.
    pub fornitore: String,
    /// The text's version.
    pub versione: i64,
    /// SHA-256 of the text as shown (the mandate: filled with the person's data), hex.
    pub sha256_testo: String,
    /// `codice_email` (on the page, after a code sent to the invitation's address; for the
    /// mandate, a firma elettronica semplice) or `documento_firmato` (a hand-signed copy).
    pub metodo: String,
    pub timestamp: i64,
}

impl Consenso {
    pub fn of(c: &sportello_domain::invitation::Consent) -> Consenso {
        use sportello_domain::invitation::{ConsentKind, ConsentMethod};
        Consenso {
            tipo: match c.tipo {
                ConsentKind::Informativa => "informativa",
                ConsentKind::Mandato => "mandato",
            }
            .to_string(),
            fornitore: c.fornitore.clone(),
            versione: c.versione,
            sha256_testo: c.sha256_testo.clone(),
            metodo: match c.metodo {
                ConsentMethod::CodiceEmail => "codice_email",
                ConsentMethod::DocumentoFirmato => "documento_firmato",
            }
            .to_string(),
            timestamp: c.timestamp,
        }
    }
}

/// Extension: a provider as the client is told about it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Fornitore {
    pub id: String,
    pub denominazione: String,
    /// `CAF` or `Patronato`; null until an admin fills in the provider's data.
    pub tipo: Option<String>,
    /// Its codice fiscale (11 digits) or partita IVA.
    pub codice_fiscale: Option<String>,
    pub sede: Option<Sede>,
    pub email: Option<String>,
    pub pec: Option<String>,
    pub telefono: Option<String>,
    /// Whether this provider counts a mandate accepted on the person's page with an e-mailed
    /// code (a *firma elettronica semplice*) as signed; otherwise it needs a hand-signed copy.
    pub mandato_fes_accettato: bool,
}

/// Extension: a provider's registered office.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Sede {
    pub indirizzo: Option<String>,
    pub comune: Option<String>,
    /// The province's sigla (`RM`).
    pub provincia: Option<String>,
}

impl Fornitore {
    pub fn of(p: &sportello_store::ProviderRecord) -> Fornitore {
        let party = &p.party;
        let sede =
            (party.indirizzo.is_some() || party.comune.is_some() || party.provincia.is_some())
                .then(|| Sede {
                    indirizzo: party.indirizzo.clone(),
                    comune: party.comune.clone(),
                    provincia: party.provincia.clone(),
                });
        Fornitore {
            id: p.id.clone(),
            denominazione: p.name.clone(),
            tipo: party.tipo.clone(),
            codice_fiscale: party.codice_fiscale.clone(),
            sede,
            email: party.email.clone(),
            pec: party.pec.clone(),
            telefono: party.telefono.clone(),
            mandato_fes_accettato: party.mandato_fes_accettato,
        }
    }
}

/// Extension: one invoice line.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Riga {
    /// `servizio`, `ricerca`, `opzione`, `chiamate`.
    pub tipo: String,
    /// The option's name (`opzione_0`), the service's hash, or `api`.
    pub codice: String,
    pub descrizione: String,
    pub imponibile: Money,
    /// Percent.
    pub aliquota_iva: Money,
    pub iva: Money,
    pub totale: Money,
    /// The legal ground of a VAT exemption, when the rate is zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub esenzione_iva: Option<String>,
}

impl Riga {
    pub fn from_line(l: &sportello_domain::pricing::Line) -> Riga {
        Riga {
            tipo: serde_json::to_value(l.tipo)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            codice: l.codice.clone(),
            descrizione: l.descrizione.clone(),
            imponibile: money(l.imponibile),
            aliquota_iva: money(l.aliquota_iva),
            iva: money(l.iva),
            totale: money(l.totale()),
            esenzione_iva: l.esenzione_iva.clone(),
        }
    }
}

/// Extension: a price as lines and totals (each line's VAT rounded to the cent; the totals are
/// the sums of the lines).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Prezzo {
    pub righe: Vec<Riga>,
    pub imponibile: Money,
    pub iva: Money,
    pub totale: Money,
}

impl Prezzo {
    pub fn from_quote(q: &sportello_domain::pricing::Quote) -> Prezzo {
        Prezzo {
            righe: q.righe.iter().map(Riga::from_line).collect(),
            imponibile: money(q.imponibile()),
            iva: money(q.iva()),
            totale: money(q.totale()),
        }
    }
}

/// An item of `GET /richiesta`: the commercial API's shorter shape.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RichiestaSummary {
    #[serde(rename = "_id")]
    pub id: String,
    pub state: u8,
    pub hash_visura: String,
    pub nome: String,
    pub ricerca: bool,
    pub id_ricerca: Option<String>,
    pub prezzo_visura: Money,
    pub prezzo_ricerca: Money,
    pub indice_ricerca: Option<u32>,
    pub stato_richiesta: String,
    pub email_target: Option<String>,
    pub timestamp_creation: i64,
    pub timestamp_last_update: i64,
    pub owner: String,
    pub sincrona: bool,
    /// Extension: as in the request.
    pub fornitore: Option<Fornitore>,
}

/// `GET /documento/{_id}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Documento {
    pub nome: String,
    /// Bytes of the zip archive.
    pub dimensione: u64,
    /// The zip archive, base64.
    pub file: String,
    /// Extension: SHA-256 of the archive, hex.
    pub sha256: String,
}

impl Richiesta {
    pub fn render(r: &RequestRecord, service: &Service, owner: &str) -> Richiesta {
        let opzioni: Vec<Opzione> = r
            .opzioni
            .iter()
            .filter_map(|name| service.option(name))
            .map(|o| Opzione {
                tipo: o.tipo.clone(),
                prezzo: money(o.prezzo),
                nome: o.nome.clone(),
            })
            .collect();
        Richiesta {
            id: Some(r.id.clone()),
            state: r.status.state_flag(),
            hash_visura: r.hash_requested.clone(),
            nome: service.nome_visura.clone(),
            ricerca: service.ricerca,
            id_ricerca: None,
            prezzo_visura: money(r.prezzo_visura),
            prezzo_ricerca: money(service.prezzo_ricerca),
            indice_ricerca: None,
            stato_richiesta: r.status.stato_richiesta().to_string(),
            email_target: r.email_target.clone(),
            allegati: r
                .document
                .as_ref()
                .map(|d| d.allegati.clone())
                .unwrap_or_default(),
            timestamp_creation: r.created_at,
            timestamp_last_update: r.updated_at,
            timestamp_stati: r.timestamp_stati.clone(),
            callback_data: r.callback_data.clone().unwrap_or(Value::Bool(false)),
            opzioni: if opzioni.is_empty() {
                None
            } else {
                Some(opzioni)
            },
            owner: owner.to_string(),
            sincrona: service.sincrona,
            ricerche: Vec::new(),
            esito: Esito {
                codice: r.esito_codice.clone(),
                info: r.esito_info.clone(),
            },
            prezzo_totale: money(r.prezzo_totale),
            prezzo: r
                .price
                .clone()
                .or_else(|| sportello_domain::pricing::quote(service, &r.opzioni).ok())
                .map(|q| Prezzo::from_quote(&q)),
            live: r.live,
            delete_after: r.closed_at.map(|c| service.delete_after(c)),
            purged: r.purged_at.is_some(),
            scadenza: r.due_at,
            scaduta: r.overdue_at.is_some(),
            motivo_annullamento: r.motivo_annullamento.clone(),
            integrazione: r.integrazione.as_ref().map(|i| Integrazione {
                messaggio: i.messaggio.clone(),
                campi: i.campi.clone(),
                documenti: i
                    .documenti
                    .iter()
                    .map(|d| DocumentoRichiesto {
                        codice: d.codice.clone(),
                        descrizione: d.descrizione.clone(),
                        fornito: d.fornito.is_some(),
                    })
                    .collect(),
                timestamp: i.at,
            }),
            fornitore: None,
            documenti: Vec::new(),
            invito: None,
            consensi: r.consensi.iter().map(Consenso::of).collect(),
        }
    }

    pub fn summary(&self) -> RichiestaSummary {
        RichiestaSummary {
            id: self.id.clone().unwrap_or_default(),
            state: self.state,
            hash_visura: self.hash_visura.clone(),
            nome: self.nome.clone(),
            ricerca: self.ricerca,
            id_ricerca: self.id_ricerca.clone(),
            prezzo_visura: self.prezzo_visura,
            prezzo_ricerca: self.prezzo_ricerca,
            indice_ricerca: self.indice_ricerca,
            stato_richiesta: self.stato_richiesta.clone(),
            email_target: self.email_target.clone(),
            timestamp_creation: self.timestamp_creation,
            timestamp_last_update: self.timestamp_last_update,
            owner: self.owner.clone(),
            sincrona: self.sincrona,
            fornitore: self.fornitore.clone(),
        }
    }
}
