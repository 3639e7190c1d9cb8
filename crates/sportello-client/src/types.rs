//! The API's shapes, with the Visengine field names. Members this version of the client does not
//! know are kept in `extra`, so a newer server never breaks an older client.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// An item of `GET /visure`.
#[derive(Debug, Clone, Deserialize)]
pub struct VisuraSummary {
    pub nome_visura: String,
    pub nome_categoria: String,
    pub hash_visura: String,
}

/// A service: its form, options and prices (`GET /visure/{hash}`).
#[derive(Debug, Clone, Deserialize)]
pub struct Visura {
    pub hash_visura: String,
    pub nome_visura: String,
    pub nome_categoria: String,
    pub json_struttura: JsonStruttura,
    #[serde(default)]
    pub opzioni: Vec<Opzione>,
    pub prezzo_visura: f64,
    #[serde(default)]
    pub prezzo_ricerca: f64,
    #[serde(default)]
    pub ricerca: bool,
    #[serde(default)]
    pub sincrona: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct JsonStruttura {
    /// `$0`, `$1`, … (a `BTreeMap` orders `$10` before `$2`: use [`Visura::fields`] for the
    /// catalog's order).
    pub campi: BTreeMap<String, Campo>,
    pub validazione: String,
    #[serde(default)]
    pub istruzioni: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Campo {
    pub nome: String,
    pub tipo: String,
    #[serde(default)]
    pub null: bool,
    #[serde(default)]
    pub ordine: Option<String>,
    #[serde(default)]
    pub istruzioni: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Opzione {
    pub tipo: String,
    pub prezzo: f64,
    pub nome: String,
}

impl Visura {
    /// The fields by index: `$0`, `$1`, …, `$10`.
    pub fn fields(&self) -> Vec<(&str, &Campo)> {
        let mut fields: Vec<(&str, &Campo)> = self
            .json_struttura
            .campi
            .iter()
            .map(|(k, v)| (k.as_str(), v))
            .collect();
        fields.sort_by_key(|(k, _)| k.trim_start_matches('$').parse::<u32>().unwrap_or(u32::MAX));
        fields
    }

    /// The option of this `tipo` (`urgenza`, `assistenza_dedicata`), if the service offers it.
    pub fn option(&self, tipo: &str) -> Option<&Opzione> {
        self.opzioni.iter().find(|o| o.tipo == tipo)
    }
}

/// A request (`GET /richiesta/{id}`).
#[derive(Debug, Clone, Deserialize)]
pub struct Richiesta {
    #[serde(rename = "_id")]
    pub id: String,
    /// 0 draft, 1 submitted.
    pub state: u8,
    pub hash_visura: String,
    pub nome: String,
    /// "In erogazione", "Dati disponibili", "Visura evasa", "Annullata", …
    pub stato_richiesta: String,
    #[serde(default)]
    pub email_target: Option<String>,
    #[serde(default)]
    pub allegati: Vec<String>,
    pub timestamp_creation: i64,
    pub timestamp_last_update: i64,
    #[serde(default)]
    pub timestamp_stati: BTreeMap<String, i64>,
    #[serde(default)]
    pub opzioni: Option<Vec<Opzione>>,
    pub esito: Esito,
    #[serde(default)]
    pub integrazione: Option<Integrazione>,
    #[serde(default)]
    pub motivo_annullamento: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Richiesta {
    /// Processed: the result document can be downloaded.
    pub fn is_processed(&self) -> bool {
        self.stato_richiesta == "Visura evasa"
    }

    /// In a final state: processed or cancelled.
    pub fn is_final(&self) -> bool {
        self.is_processed() || self.stato_richiesta == "Annullata"
    }

    /// An operator is waiting for the client to supply what [`Richiesta::integrazione`] says.
    pub fn awaits_integration(&self) -> bool {
        self.integrazione.is_some() && self.stato_richiesta == "In attesa di integrazione"
    }
}

/// An item of `GET /richiesta`.
#[derive(Debug, Clone, Deserialize)]
pub struct RichiestaSummary {
    #[serde(rename = "_id")]
    pub id: String,
    pub hash_visura: String,
    pub nome: String,
    pub stato_richiesta: String,
    pub timestamp_creation: i64,
    pub timestamp_last_update: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Esito {
    pub codice: String,
    pub info: String,
}

/// What an operator asked the client to supply.
#[derive(Debug, Clone, Deserialize)]
pub struct Integrazione {
    pub messaggio: String,
    /// The `$n` fields to send again.
    #[serde(default)]
    pub campi: Vec<String>,
    pub timestamp: i64,
}

/// The result of a processed request: a zip archive.
#[derive(Debug, Clone)]
pub struct Documento {
    pub nome: String,
    /// The zip archive's bytes, checked against the server's SHA-256.
    pub zip: Vec<u8>,
}

/// A request to submit (`POST /richiesta`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewRichiesta {
    pub hash_visura: String,
    pub json_visura: BTreeMap<String, String>,
    /// 1 submits at once (the default), 0 keeps a draft.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_data: Option<Callback>,
    /// `{"opzione_0": true}`
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub opzioni: BTreeMap<String, bool>,
    /// Sent as the `Idempotency-Key` header; the client makes one when it is not set.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// Where Sportello calls back when the request changes state.
#[derive(Debug, Clone, Serialize)]
pub struct Callback {
    pub url: String,
    /// "JSON" (a JSON body) or "POST" (a form post).
    pub method: String,
    /// The name under which the request travels (default `visengineData`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Your own object, echoed back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl NewRichiesta {
    pub fn new(hash_visura: &str) -> NewRichiesta {
        NewRichiesta {
            hash_visura: hash_visura.to_string(),
            ..NewRichiesta::default()
        }
    }

    /// Sets field `$n` (`key` is `"$n"`).
    pub fn field(mut self, key: &str, value: impl Into<String>) -> NewRichiesta {
        self.json_visura.insert(key.to_string(), value.into());
        self
    }

    /// Attaches a file to field `key`, as `name|data:<mime>;base64,<content>`.
    pub fn file(self, key: &str, name: &str, mime: &str, bytes: &[u8]) -> NewRichiesta {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        self.field(key, format!("{name}|data:{mime};base64,{encoded}"))
    }

    /// Chooses an option by its `nome` (`opzione_0`).
    pub fn option(mut self, nome: &str) -> NewRichiesta {
        self.opzioni.insert(nome.to_string(), true);
        self
    }

    pub fn email_target(mut self, address: &str) -> NewRichiesta {
        self.email_target = Some(address.to_string());
        self
    }

    pub fn callback(mut self, callback: Callback) -> NewRichiesta {
        self.callback_data = Some(callback);
        self
    }

    /// Keeps the request as a draft instead of submitting it.
    pub fn draft(mut self) -> NewRichiesta {
        self.state = Some(0);
        self
    }

    /// Uses this idempotency key instead of a random one (e.g. your own order id), so that
    /// even a retry from another process creates nothing twice.
    pub fn idempotency_key(mut self, key: &str) -> NewRichiesta {
        self.idempotency_key = Some(key.to_string());
        self
    }
}
