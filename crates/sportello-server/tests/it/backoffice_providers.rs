//! The back office's provider page (issue 17 §1): an admin edits a provider's party data, with
//! Italian errors next to the fields and the values kept, and saves its privacy notice and
//! mandate as new versions, then reads what each seems to lack and the list of versions.
#![allow(clippy::unwrap_used)]

use crate::backoffice::*;
use crate::common;

use common::*;
use reqwest::{Method, StatusCode};

async fn logged_in_admin(app: &TestApp) -> Browser {
    let email = admin(app).await;
    let mut b = Browser::new(app);
    b.login(&email, PASSWORD).await;
    b
}

async fn demo_provider(app: &TestApp) -> String {
    app.state
        .store
        .list_providers()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == "CAF Demo")
        .unwrap()
        .id
}

fn page(id: &str) -> String {
    format!("/backoffice/admin/fornitori/{id}")
}

const PARTY: [(&str, &str); 9] = [
    ("denominazione", "Patronato Esempio"),
    ("tipo", "Patronato"),
    ("codice_fiscale", "12345671205"),
    ("indirizzo", "Via Po 3"),
    ("comune", "Torino"),
    ("provincia", "to"),
    ("email", "info@example.com"),
    ("pec", ""),
    ("telefono", "011 123456"),
];

fn party_with<'a>(changes: &[(&'static str, &'a str)]) -> Vec<(&'static str, &'a str)> {
    PARTY
        .iter()
        .map(|(n, v)| {
            let v = changes.iter().find(|(c, _)| c == n).map_or(*v, |(_, x)| *x);
            (*n, v)
        })
        .collect()
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String)> {
    let token = app.admin_token().await;
    let trail = app
        .call(Method::GET, "/admin/audit?limit=1000", &token, None)
        .await;
    trail
        .assert_ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["azione"].as_str().unwrap().to_string(),
                e["attore"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_list_links_to_each_providers_page_which_shows_its_data_texts_and_versions() {
    let app = TestApp::spawn().await;
    let id = demo_provider(&app).await;
    let mut a = logged_in_admin(&app).await;
    let list = a.get("/backoffice/admin/fornitori").await;
    list.assert_shows(StatusCode::OK, &format!("href=\"{}\"", page(&id)));
    assert!(list.text.contains("(CAF)"), "{}", list.text);

    let p = a.get(&page(&id)).await;
    p.assert_shows(StatusCode::OK, "<h1>CAF Demo</h1>");
    for shown in [
        "value=\"CAF Demo\"",
        "value=\"12345671205\"",
        "<option value=\"CAF\" selected>",
        "value=\"RM\"",
        "id=\"testo-informativa\"",
        "id=\"testo-mandato\"",
        "In uso: versione 1 del",
        // The demo texts lack nothing the checks know.
        "id=\"avvisi-informativa\">Il controllo automatico trova tutte",
        "id=\"avvisi-mandato\">Il controllo automatico trova tutte",
        "<td>Informativa</td><td>1</td>",
        "<td>Mandato</td><td>1</td>",
        "Sportello (testo dimostrativo)",
    ] {
        assert!(p.text.contains(shown), "{shown:?} not in {}", p.text);
    }
    // The mandate's placeholders reach the box as text.
    assert!(p.text.contains("{{cognome}}"));

    let missing = a.get(&page("prv_nessuno")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_party_data_is_shown_again_with_an_italian_error_next_to_each_field() {
    let app = TestApp::spawn().await;
    let id = demo_provider(&app).await;
    let before = app.state.store.get_provider(&id).await.unwrap().unwrap();
    let mut a = logged_in_admin(&app).await;
    let action = format!("{}/dati", page(&id));
    let refused = a
        .act(
            &page(&id),
            &action,
            &party_with(&[
                ("denominazione", " "),
                ("codice_fiscale", "12345678901"),
                ("provincia", "Roma"),
                ("pec", "non-una-pec"),
                ("telefono", "chiamami"),
            ]),
        )
        .await;
    refused.assert_shows(StatusCode::BAD_REQUEST, "correggi i campi segnalati");
    for (field, message) in [
        ("denominazione", "Indica la denominazione."),
        ("codice_fiscale", "Indica un codice fiscale valido"),
        ("provincia", "Indica la sigla di una provincia attuale"),
        ("pec", "Indica un indirizzo PEC valido."),
        ("telefono", "Indica un numero di telefono"),
    ] {
        let at = refused
            .text
            .find(&format!("id=\"errore-{field}\">"))
            .unwrap_or_else(|| panic!("no error for {field}: {}", refused.text));
        assert!(
            refused.text[at..].contains(message),
            "{field}: {}",
            refused.text
        );
        assert!(refused.text.contains(&format!(
            "aria-invalid=\"true\" aria-describedby=\"errore-{field}\""
        )));
    }
    // The values are kept as typed, the good ones without an error.
    for kept in [
        "value=\"Roma\"",
        "value=\"12345678901\"",
        "value=\"non-una-pec\"",
        "value=\"Via Po 3\"",
        "<option value=\"Patronato\" selected>",
    ] {
        assert!(refused.text.contains(kept), "{kept}: {}", refused.text);
    }
    assert!(!refused.text.contains("errore-indirizzo"));
    // Nothing was saved.
    let after = app.state.store.get_provider(&id).await.unwrap().unwrap();
    assert_eq!(after, before);

    let no_tipo = a
        .act(&page(&id), &action, &party_with(&[("tipo", "")]))
        .await;
    no_tipo.assert_shows(StatusCode::BAD_REQUEST, "Scegli CAF o Patronato.");
}

#[tokio::test]
async fn good_party_data_is_saved_and_audited() {
    let app = TestApp::spawn().await;
    let id = demo_provider(&app).await;
    let mut a = logged_in_admin(&app).await;
    let saved = a
        .act(&page(&id), &format!("{}/dati", page(&id)), &party_with(&[]))
        .await;
    saved.assert_redirect(&format!("{}?salvato=dati", page(&id)));
    let p = a.get(saved.location()).await;
    p.assert_shows(StatusCode::OK, "Dati del fornitore salvati.");
    assert!(p.text.contains("value=\"TO\""), "{}", p.text);
    let stored = app.state.store.get_provider(&id).await.unwrap().unwrap();
    assert_eq!(stored.name, "Patronato Esempio");
    assert_eq!(stored.party.tipo.as_deref(), Some("Patronato"));
    assert_eq!(stored.party.provincia.as_deref(), Some("TO"));
    assert_eq!(stored.party.pec, None);
    // Clients see the new data on their requests.
    let r = app.get("/richiesta").await;
    if let Some(first) = r.assert_ok().as_array().unwrap().first() {
        assert_eq!(first["fornitore"]["denominazione"], "Patronato Esempio");
    }
    let actions = audit_actions(&app).await;
    assert!(
        actions
            .iter()
            .any(|(a, who)| a == "provider_update" && who.starts_with("admin")),
        "{actions:?}"
    );
}

#[tokio::test]
async fn each_text_saved_is_a_new_version_whose_missing_items_the_page_names() {
    let app = TestApp::spawn().await;
    let id = demo_provider(&app).await;
    let mut a = logged_in_admin(&app).await;
    let saved = a
        .act(
            &page(&id),
            &format!("{}/informativa", page(&id)),
            &[(
                "testo",
                "Titolare del trattamento: CAF Demo.\r\nAltro testo.",
            )],
        )
        .await;
    saved.assert_redirect(&format!("{}?salvato=informativa#informativa", page(&id)));
    let p = a.get(&format!("{}?salvato=informativa", page(&id))).await;
    p.assert_shows(StatusCode::OK, "id=\"salvato-informativa\"");
    assert!(p.text.contains("In uso: versione 2 del"), "{}", p.text);
    let at = p.text.find("id=\"avvisi-informativa\"").unwrap();
    let avvisi = &p.text[at..p.text[at..].find("</div>").unwrap() + at];
    assert!(avvisi.contains("Garante"), "{avvisi}");
    assert!(avvisi.contains("<li>"), "{avvisi}");
    assert!(!avvisi.contains("titolare del trattamento"), "{avvisi}");
    // The mandate's notes are untouched; both versions of the notice are listed.
    assert!(p
        .text
        .contains("id=\"avvisi-mandato\">Il controllo automatico trova tutte"));
    assert!(p.text.contains("<td>Informativa</td><td>2</td>"));
    // Who saved it: the admin, by name.
    assert!(p.text.contains("</td><td>Admin</td>"), "{}", p.text);
    assert!(p.text.contains("<td>Informativa</td><td>1</td>"));
    let current = app
        .state
        .store
        .current_provider_document(&id, sportello_store::PaperKind::Informativa)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        current.testo,
        "Titolare del trattamento: CAF Demo.\nAltro testo."
    );
    assert!(current.created_by.starts_with("admin"));

    // A mandate longer than a short form may be: the paperwork limit applies.
    let long = format!(
        "Mandato a {{{{fornitore}}}} per {{{{servizio}}}}. {}",
        "Perché è così. ".repeat(3_000)
    );
    assert!(long.len() > 32 * 1024);
    let saved = a
        .act(
            &page(&id),
            &format!("{}/mandato", page(&id)),
            &[("testo", &long)],
        )
        .await;
    saved.assert_redirect(&format!("{}?salvato=mandato", page(&id)));
    let p = a.get(&page(&id)).await;
    let at = p.text.find("id=\"avvisi-mandato\"").unwrap();
    assert!(p.text[at..].contains("{{data}}"), "{}", p.text);

    let actions = audit_actions(&app).await;
    for action in ["provider_informativa", "provider_mandato"] {
        assert!(actions.iter().any(|(a, _)| a == action), "{actions:?}");
    }
}

#[tokio::test]
async fn an_empty_or_too_long_text_is_refused_next_to_its_box_and_kept() {
    let app = TestApp::spawn().await;
    let id = demo_provider(&app).await;
    let mut a = logged_in_admin(&app).await;
    let empty = a
        .act(
            &page(&id),
            &format!("{}/mandato", page(&id)),
            &[("testo", "   ")],
        )
        .await;
    empty.assert_shows(
        StatusCode::BAD_REQUEST,
        "id=\"errore-mandato\">Scrivi il testo",
    );
    assert!(empty
        .text
        .contains("aria-invalid=\"true\" aria-describedby=\"errore-mandato\""));
    let too_long = "a".repeat(50_001);
    let refused = a
        .act(
            &page(&id),
            &format!("{}/informativa", page(&id)),
            &[("testo", &too_long)],
        )
        .await;
    refused.assert_shows(StatusCode::BAD_REQUEST, "Il testo è troppo lungo");
    assert!(refused.text.contains(&too_long), "the text typed is kept");
    // Beyond the paperwork body limit the form is not read at all; the party form keeps the
    // short forms' limit.
    let huge = "a".repeat(sportello_server::body::PAPERWORK_BYTES + 1);
    let refused = a
        .act(
            &page(&id),
            &format!("{}/informativa", page(&id)),
            &[("testo", &huge)],
        )
        .await;
    refused.assert_shows(StatusCode::PAYLOAD_TOO_LARGE, "troppo grande");
    let long_name = "a".repeat(sportello_server::body::FORM_BYTES);
    let refused = a
        .act(
            &page(&id),
            &format!("{}/dati", page(&id)),
            &party_with(&[("indirizzo", &long_name)]),
        )
        .await;
    refused.assert_shows(StatusCode::PAYLOAD_TOO_LARGE, "troppo grande");
    let versions = app
        .state
        .store
        .current_provider_versions(&id)
        .await
        .unwrap();
    assert_eq!((versions.informativa, versions.mandato), (Some(1), Some(1)));
}

#[tokio::test]
async fn the_provider_page_is_for_admins_with_a_valid_form() {
    let app = TestApp::spawn().await;
    let id = demo_provider(&app).await;
    let mut op = logged_in_operator(&app).await;
    let refused = op.get(&page(&id)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let queue = op.get("/backoffice/coda").await;
    let csrf = queue.csrf();
    for action in ["dati", "informativa", "mandato"] {
        let posted = op
            .post(
                &format!("{}/{action}", page(&id)),
                &[("csrf", &csrf), ("testo", "Mandato")],
            )
            .await;
        assert_eq!(posted.status, StatusCode::FORBIDDEN, "{action}");
    }
    let mut a = logged_in_admin(&app).await;
    let forged = a
        .post(
            &format!("{}/informativa", page(&id)),
            &[("csrf", "forged"), ("testo", "Informativa")],
        )
        .await;
    forged.assert_shows(StatusCode::FORBIDDEN, "Modulo scaduto");
    let unknown = a
        .act(
            &page(&id),
            "/backoffice/admin/fornitori/prv_nessuno/mandato",
            &[("testo", "Mandato")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let versions = app
        .state
        .store
        .current_provider_versions(&id)
        .await
        .unwrap();
    assert_eq!((versions.informativa, versions.mandato), (Some(1), Some(1)));
}
