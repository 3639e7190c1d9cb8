//! Documents beyond the form and the mandate a practice cannot be closed without (issue 17 §3,
//! §5): an operator asks for documents by codice, the client supplies them as JSON or multipart,
//! the request goes back to the queue once everything asked has arrived, and a Patronato/CAF
//! practice is closed only with the person's signed mandate.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sportello_server::Limits;

/// A multipart body with a `codice` part and a `file` part.
fn multipart(codice: &str, name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----sportello-documenti";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"codice\"\r\n\r\n{codice}\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(app: &TestApp, token: &str, id: &str, codice: &str, bytes: &[u8]) -> Answer {
    let (content_type, body) = multipart(codice, "scansione.pdf", bytes);
    app.raw(
        app.http
            .post(format!("{}/richiesta/{id}/documenti", app.base))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

async fn supply_json(app: &TestApp, id: &str, codice: &str, file: &str) -> Answer {
    app.post(
        &format!("/richiesta/{id}/documenti"),
        json!({"codice": codice, "file": file}),
    )
    .await
}

/// A submitted Assegno Unico request (mandate copy in `$7`), claimed by the demo operator.
async fn claimed(app: &TestApp) -> String {
    let r = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": assegno_form()}),
        )
        .await;
    let id = r.assert_ok()["_id"].as_str().unwrap().to_string();
    app.claim(&id).await;
    id
}

#[tokio::test]
async fn asked_documents_arrive_by_json_and_multipart_and_the_request_goes_back_to_the_queue() {
    let app = TestApp::spawn().await;
    let id = claimed(&app).await;

    let asked = app
        .op(
            Method::POST,
            &format!("/operator/requests/{id}/integration"),
            Some(json!({
                "messaggio": "Serve il contratto d'affitto e il numero di telefono corretto.",
                "campi": ["$3"],
                "documenti": [
                    {"codice": "contratto_locazione", "descrizione": "Contratto di affitto registrato"},
                    // A checklist entry by its codice alone takes the checklist's description.
                    {"codice": "isee"}
                ]
            })),
        )
        .await;
    let integrazione = asked.assert_ok()["richiesta"]["integrazione"].clone();
    assert_eq!(integrazione["campi"], json!(["$3"]));
    assert_eq!(
        integrazione["documenti"][0],
        json!({"codice": "contratto_locazione", "descrizione": "Contratto di affitto registrato",
               "fornito": false})
    );
    assert_eq!(integrazione["documenti"][1]["codice"], "isee");
    assert!(
        integrazione["documenti"][1]["descrizione"]
            .as_str()
            .unwrap()
            .contains("ISEE"),
        "{integrazione}"
    );

    // The client sees what is asked.
    let seen = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(seen.assert_ok()["integrazione"], integrazione);
    assert_eq!(seen.assert_ok()["documenti"], json!([]));

    // A PUT with nothing in it names the missing documents.
    let empty = app.put(&format!("/richiesta/{id}"), json!({})).await;
    assert_eq!(empty.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(empty.error_code(), 229);
    assert_eq!(
        empty.failing_fields(),
        vec![
            "documenti.contratto_locazione".to_string(),
            "documenti.isee".to_string(),
            "$3".to_string()
        ]
    );

    // The fields first: the request keeps waiting for the documents.
    let put = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura": {"$3": "3337654321"}}),
        )
        .await;
    assert_eq!(
        put.assert_ok()["stato_richiesta"],
        "In attesa di integrazione"
    );

    // A document by JSON, as files go in json_visura.
    let lease = pdf("contratto");
    let one = supply_json(
        &app,
        &id,
        "contratto_locazione",
        &format!("contratto.pdf|data:application/pdf;base64,{}", b64(&lease)),
    )
    .await;
    let data = one.assert_ok();
    assert_eq!(data["stato_richiesta"], "In attesa di integrazione");
    // The client sees what has arrived and what is still missing.
    assert_eq!(data["integrazione"]["documenti"][0]["fornito"], true);
    assert_eq!(data["integrazione"]["documenti"][1]["fornito"], false);
    let listed = data["documenti"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    let doc = &listed[0];
    assert_eq!(
        members(doc),
        ["codice", "dimensione", "id", "nome", "sha256", "timestamp"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    assert_eq!(doc["codice"], "contratto_locazione");
    assert_eq!(doc["nome"], "contratto.pdf");
    assert_eq!(doc["dimensione"], lease.len());
    assert_eq!(
        doc["sha256"],
        sportello_store::ids::sha256_hex(&lease).as_str()
    );

    // The last one by multipart: everything asked is in, back to the queue.
    let isee = pdf("attestazione isee");
    let two = upload(&app, &app.client_token, &id, "isee", &isee).await;
    let data = two.assert_ok();
    assert_eq!(data["stato_richiesta"], "In erogazione");
    assert!(data.get("integrazione").is_none(), "{data}");
    assert_eq!(data["documenti"].as_array().unwrap().len(), 2);
    assert_eq!(data["documenti"][1]["nome"], "scansione.pdf");

    // The operator sees them and downloads them as they were sent.
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    let detail = detail.assert_ok();
    let storia: Vec<&str> = detail["storia"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["azione"].as_str().unwrap())
        .collect();
    assert!(
        // The last document answers the integration: one entry says both.
        storia.ends_with(&[
            "ask_integration",
            "supply_fields",
            "supply_document",
            "supply_integration"
        ]),
        "{storia:?}"
    );
    for (doc, bytes) in detail["richiesta"]["documenti"]
        .as_array()
        .unwrap()
        .iter()
        .zip([&lease, &isee])
    {
        let file_id = doc["id"].as_str().unwrap();
        let got = app
            .http
            .get(format!(
                "{}/operator/requests/{id}/files/{file_id}",
                app.base
            ))
            .bearer_auth(&app.operator_token)
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), StatusCode::OK);
        assert_eq!(&got.bytes().await.unwrap()[..], &bytes[..]);
    }

    // Each supply is in the audit trail, by codice only.
    let admin = app.admin_token().await;
    let trail = app
        .call(
            Method::GET,
            &format!("/admin/audit?request_id={id}"),
            &admin,
            None,
        )
        .await;
    let details: Vec<Value> = trail
        .assert_ok()
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["azione"] == "supply_document")
        .map(|e| e["dettaglio"].clone())
        .collect();
    // By codice only: never a file name or a value.
    assert_eq!(
        details,
        [
            json!("documento contratto_locazione"),
            json!("documento isee")
        ],
        "{:#?}",
        trail.assert_ok()
    );
}

#[tokio::test]
async fn documents_go_on_drafts_and_open_requests_and_are_refused_once_closed() {
    let app = TestApp::spawn().await;
    // Up front, on a draft: a checklist document.
    let draft = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": {"$0": "Mario"}, "state": 0}),
        )
        .await;
    let draft = draft.assert_ok()["_id"].as_str().unwrap().to_string();
    let up = supply_json(&app, &draft, "mandato", &b64(&pdf("mandato"))).await;
    assert_eq!(up.assert_ok()["documenti"][0]["codice"], "mandato");
    assert_eq!(up.assert_ok()["stato_richiesta"], "In ricerca");

    // Bad inputs, each named.
    let bad = supply_json(&app, &draft, "Contratto Locazione", &b64(&pdf("x"))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code(), 915);
    assert_eq!(bad.failing_fields(), vec!["codice".to_string()]);
    let no_file = app
        .post(
            &format!("/richiesta/{draft}/documenti"),
            json!({"codice": "mandato"}),
        )
        .await;
    assert_eq!(no_file.error_code(), 915);
    assert_eq!(no_file.failing_fields(), vec!["file".to_string()]);
    let not_pdf = supply_json(&app, &draft, "mandato", &b64(b"just some text")).await;
    assert_eq!(not_pdf.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(not_pdf.error_code(), 229);
    assert_eq!(not_pdf.failing_fields(), vec!["file".to_string()]);
    let not_pdf = upload(
        &app,
        &app.client_token,
        &draft,
        "mandato",
        b"just some text",
    )
    .await;
    assert_eq!(not_pdf.error_code(), 229);
    let missing_part = app
        .raw(
            app.http
                .post(format!("{}/richiesta/{draft}/documenti", app.base))
                .bearer_auth(&app.client_token)
                .header("content-type", "multipart/form-data; boundary=x")
                .body("--x\r\nContent-Disposition: form-data; name=\"codice\"\r\n\r\nmandato\r\n--x--\r\n"),
        )
        .await;
    assert_eq!(missing_part.error_code(), 915);
    assert_eq!(missing_part.failing_fields(), vec!["file".to_string()]);

    // Someone else's request does not exist for them.
    let other = app.new_client("altro").await;
    let theirs = upload(&app, &other, &draft, "mandato", &pdf("x")).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(theirs.error_code(), 202);

    // Once cancelled, no more documents: 409 with its own code.
    app.call(
        Method::DELETE,
        &format!("/richiesta/{draft}"),
        &app.client_token,
        None,
    )
    .await
    .assert_ok();
    let late = supply_json(&app, &draft, "mandato", &b64(&pdf("late"))).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(late.error_code(), 921);
    let late = upload(&app, &app.client_token, &draft, "mandato", &pdf("late")).await;
    assert_eq!(late.error_code(), 921);

    // A file larger than the route takes is refused before it is stored.
    let small = Limits {
        max_file_bytes: 4096,
        ..Limits::default()
    };
    let app = TestApp::spawn_with(small).await;
    let id = claimed(&app).await;
    let big = vec![b'%'; 64 * 1024];
    // Streamed: the checks stop it at the file limit.
    let refused = upload(&app, &app.client_token, &id, "isee", &big).await;
    assert_eq!(refused.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(refused.body["details"][0]["codice"], "file_too_large");
    // As JSON: the body is refused by its size before it is read.
    let refused = supply_json(&app, &id, "isee", &b64(&big)).await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(refused.error_code(), 906);
    let listed = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(listed.assert_ok()["documenti"], json!([]));
}

#[tokio::test]
async fn an_integration_asks_only_for_documents_it_can_name() {
    let app = TestApp::spawn().await;
    let id = claimed(&app).await;
    let path = format!("/operator/requests/{id}/integration");
    for (documenti, campo) in [
        (json!([{"codice": "Non Valido"}]), "documenti.codice"),
        (json!([{"codice": "fuori_lista"}]), "documenti.descrizione"),
        (json!([{"descrizione": "senza codice"}]), "documenti.codice"),
        (json!("contratto"), "documenti"),
        (
            json!((0..21)
                .map(|n| json!({"codice": format!("doc_{n}"), "descrizione": "x"}))
                .collect::<Vec<_>>()),
            "documenti",
        ),
    ] {
        let answer = app
            .op(
                Method::POST,
                &path,
                Some(json!({"messaggio": "Servono documenti.", "documenti": documenti})),
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{documenti}");
        assert_eq!(answer.error_code(), 915);
        assert_eq!(
            answer.failing_fields(),
            vec![campo.to_string()],
            "{documenti}"
        );
    }
}

#[tokio::test]
async fn a_practice_is_closed_only_with_the_persons_mandate() {
    let app = TestApp::spawn().await;
    let (_, live) = app.funded_client("azienda", "100").await;
    let mut form = assegno_form();
    form.remove("$7");
    let r = app
        .call(
            Method::POST,
            "/richiesta",
            &live,
            Some(json!({"hash_visura": ASSEGNO, "json_visura": form})),
        )
        .await;
    let id = r.assert_ok()["_id"].as_str().unwrap().to_string();
    app.claim(&id).await;
    app.op(
        Method::POST,
        &format!("/operator/requests/{id}/results"),
        Some(json!({"nome": "esito.pdf", "file": b64(&pdf("esito"))})),
    )
    .await
    .assert_ok();
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    assert_eq!(detail.assert_ok()["mandato_mancante"], true);

    let close = app
        .op(
            Method::POST,
            &format!("/operator/requests/{id}/close"),
            Some(json!({})),
        )
        .await;
    assert_eq!(close.status, StatusCode::CONFLICT);
    assert_eq!(close.error_code(), 922);

    // The client supplies it while the operator works: now it closes.
    upload(&app, &live, &id, "mandato", &pdf("mandato firmato"))
        .await
        .assert_ok();
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    assert_eq!(detail.assert_ok()["mandato_mancante"], false);
    let closed = app
        .op(
            Method::POST,
            &format!("/operator/requests/{id}/close"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        closed.assert_ok()["richiesta"]["stato_richiesta"],
        "Visura evasa"
    );

    // The form's own copy counts as the mandate; a family certificate needs none.
    for (hash, form) in [(ASSEGNO, assegno_form()), (FAMIGLIA, famiglia_form())] {
        let r = app
            .call(
                Method::POST,
                "/richiesta",
                &live,
                Some(json!({"hash_visura": hash, "json_visura": form})),
            )
            .await;
        let id = r.assert_ok()["_id"].as_str().unwrap().to_string();
        app.work_to_the_end(&id, &[("esito.pdf", pdf("esito"))])
            .await;
    }
}

#[tokio::test]
async fn documents_first_then_fields_also_complete_the_integration() {
    let app = TestApp::spawn().await;
    let id = claimed(&app).await;
    app.op(
        Method::POST,
        &format!("/operator/requests/{id}/integration"),
        Some(json!({
            "messaggio": "Serve l'IBAN aggiornato e il telefono.",
            "campi": ["$3"],
            "documenti": [{"codice": "iban"}]
        })),
    )
    .await
    .assert_ok();

    // A document supplied before the question does not answer it: only one sent after.
    let early = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(
        early.assert_ok()["integrazione"]["documenti"][0]["codice"],
        "iban"
    );
    let doc = supply_json(&app, &id, "iban", &b64(&pdf("iban"))).await;
    assert_eq!(
        doc.assert_ok()["stato_richiesta"],
        "In attesa di integrazione"
    );
    let put = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura": {"$3": "3337654321"}}),
        )
        .await;
    let data = put.assert_ok();
    assert_eq!(data["stato_richiesta"], "In erogazione");
    assert!(data.get("integrazione").is_none(), "{data}");

    // Asked again later, the same codice needs a new document.
    app.op(
        Method::POST,
        &format!("/operator/requests/{id}/integration"),
        Some(json!({"messaggio": "L'IBAN è illeggibile.", "documenti": [{"codice": "iban"}]})),
    )
    .await
    .assert_ok();
    let still = app.put(&format!("/richiesta/{id}"), json!({})).await;
    assert_eq!(still.error_code(), 229);
    assert_eq!(still.failing_fields(), vec!["documenti.iban".to_string()]);
    let again = upload(&app, &app.client_token, &id, "iban", &pdf("iban leggibile")).await;
    assert_eq!(again.assert_ok()["stato_richiesta"], "In erogazione");
    assert_eq!(again.assert_ok()["documenti"].as_array().unwrap().len(), 2);
}
