//! Each seed service, end to end over HTTP: read the catalog, submit a valid request, the
//! operator takes it, attaches results and closes it, the client downloads the document and
//! finds in it exactly the bytes the operator attached.
#![allow(clippy::unwrap_used)]

use crate::common;

use base64::Engine;
use common::*;
use reqwest::Method;
use serde_json::json;
use std::io::Read;

const SEED_HASHES: [&str; 5] = [
    "224fcc49770edad354cdd9c480a7e50e",
    "8a7c8386fff43d28182cfa2ad24a3532",
    "38934ffe45179c4d5b88e2a6b849799a",
    "e767a64dec5b382cbff27b3e46f41441",
    "4c84e22bbabd5f25b0102bb3bfe82790",
];

fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            f.read_to_end(&mut content).unwrap();
            (f.name().to_string(), content)
        })
        .collect()
}

/// `listed`: the catalog lists `hash` (aliases are not listed, only resolved).
async fn full_flow(app: &TestApp, hash: &str, listed: bool) {
    let catalog = app.get("/visure").await;
    let items = catalog.assert_ok().as_array().unwrap();
    assert_eq!(
        items.iter().any(|s| s["hash_visura"] == hash),
        listed,
        "{hash}"
    );

    // Build a valid json_visura from the service's own description.
    let service = app.get(&format!("/visure/{hash}")).await;
    let visura = service.assert_ok();
    assert_eq!(visura["hash_visura"], hash);
    let json_visura = valid_json_visura(visura);

    let created = app
        .post(
            "/richiesta",
            json!({"hash_visura": hash, "json_visura": json_visura}),
        )
        .await;
    let r = created.assert_ok();
    let id = r["_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 24);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(r["state"], 1);
    assert_eq!(r["stato_richiesta"], "In erogazione");
    assert_eq!(r["hash_visura"], hash);
    assert_eq!(r["nome"], visura["nome_visura"]);
    assert_eq!(r["prezzo_visura"], visura["prezzo_visura"]);
    assert_eq!(r["callback_data"], false);
    assert_eq!(r["esito"], json!({"codice": "0", "info": "OK"}));
    assert!(r["timestamp_stati"]["in_erogazione"].is_i64());

    // The operator sees it in the queue and takes it.
    let queue = app.op(Method::GET, "/operator/requests", None).await;
    assert!(queue
        .assert_ok()
        .as_array()
        .unwrap()
        .iter()
        .any(|q| q["id"] == id.as_str()));
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    let fields = detail.assert_ok()["campi"].as_array().unwrap().clone();
    assert_eq!(fields.len(), json_visura.as_object().unwrap().len());

    // Before it is processed the document is not ready.
    let early = app.get(&format!("/documento/{id}")).await;
    assert_eq!(early.status, 422);
    assert_eq!(early.error_code(), 247);

    let results = vec![
        ("esito.pdf", pdf(&format!("esito {hash}"))),
        ("ricevuta.png", png()),
    ];
    app.work_to_the_end(&id, &results).await;

    // Poll until processed.
    let mut state = String::new();
    for _ in 0..20 {
        let got = app.get(&format!("/richiesta/{id}")).await;
        state = got.assert_ok()["stato_richiesta"]
            .as_str()
            .unwrap()
            .to_string();
        if state == "Visura evasa" {
            assert_eq!(got.data()["allegati"], json!(["esito.pdf", "ricevuta.png"]));
            assert!(got.data()["timestamp_stati"]["visura_evasa"].is_i64());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "Visura evasa");

    // The document, as the commercial API gives it: base64 of a zip.
    let doc = app.get(&format!("/documento/{id}")).await;
    let d = doc.assert_ok();
    assert_eq!(d["nome"], format!("{id}.zip"));
    let zip_bytes = base64::engine::general_purpose::STANDARD
        .decode(d["file"].as_str().unwrap())
        .unwrap();
    assert_eq!(d["dimensione"].as_u64().unwrap(), zip_bytes.len() as u64);
    let inside = unzip(&zip_bytes);
    assert_eq!(inside.len(), 2);
    for ((name, bytes), (got_name, got_bytes)) in results.iter().zip(inside.iter()) {
        assert_eq!(name, got_name);
        assert_eq!(bytes, got_bytes, "bytes of {name} differ");
    }

    // And the same archive streamed as binary.
    let resp = app
        .http
        .get(format!("{}/documento/{id}/download", app.base))
        .bearer_auth(&app.client_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/zip");
    assert_eq!(
        resp.headers()["content-length"].to_str().unwrap(),
        zip_bytes.len().to_string()
    );
    let sha = resp.headers()["x-checksum-sha256"]
        .to_str()
        .unwrap()
        .to_string();
    let streamed = resp.bytes().await.unwrap();
    assert_eq!(streamed.as_ref(), zip_bytes.as_slice());
    assert_eq!(sha, d["sha256"].as_str().unwrap());
}

#[tokio::test]
async fn every_seed_service_can_be_worked_end_to_end() {
    let app = TestApp::spawn().await;
    for hash in SEED_HASHES {
        full_flow(&app, hash, true).await;
    }
}

#[tokio::test]
async fn the_isee_variants_and_aliases_work_end_to_end_too() {
    let app = TestApp::spawn().await;
    let catalog = app.get("/visure").await;
    let hashes: Vec<String> = catalog
        .assert_ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["hash_visura"].as_str().unwrap().to_string())
        .filter(|h| !SEED_HASHES.contains(&h.as_str()))
        .collect();
    assert_eq!(hashes.len(), 3, "three ISEE variants besides the seeds");
    for hash in &hashes {
        full_flow(&app, hash, true).await;
    }
    // The commercial catalogue's own hashes answer with themselves.
    for alias in [
        "6aa0789f5ba34684b2bc5ccf364f8929",
        "5fec14002548c9ae115758500c8981ee",
    ] {
        full_flow(&app, alias, false).await;
    }
}
