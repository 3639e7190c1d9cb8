//! `sportello export --codice-fiscale CF --out FILE`: a person's access request (GDPR art. 15/20)
//! from the command line, next to a running server, through the same service function as
//! `POST /admin/subjects/export`.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{stato_di_famiglia, Install, STATO_DI_FAMIGLIA};
use serde_json::{json, Value};
use std::io::Read;

const CF: &str = "RSSMRA85T10H501O";

fn unzip(path: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let file = std::fs::File::open(path).unwrap();
    let mut zip = zip::ZipArchive::new(file).expect("a zip");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut content = Vec::new();
            f.read_to_end(&mut content).unwrap();
            (f.name().to_string(), content)
        })
        .collect()
}

#[tokio::test]
async fn an_access_request_writes_every_request_about_the_person_to_a_new_file() {
    let install = Install::new();
    let server = install.start().await;
    let (client, _) = server.demo_tokens().unwrap();
    let created = server
        .post(
            "/richiesta",
            &client,
            json!({"hash_visura": STATO_DI_FAMIGLIA, "json_visura": stato_di_famiglia()}),
        )
        .await;
    let id = created.ok()["_id"].as_str().unwrap().to_string();

    let out = install.path().join("mario.zip");
    let run = install.run(&[
        "export",
        "--codice-fiscale",
        &CF.to_lowercase(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.ok().contains("1 request(s) written"), "{run:#?}");
    // Never the code on the terminal.
    assert!(
        !run.stdout.contains(CF) && !run.stderr.contains(CF),
        "{run:#?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "readable by others: {mode:o}");
    }
    let entries = unzip(&out);
    let index: Value = serde_json::from_slice(&entries["indice.json"]).unwrap();
    assert_eq!(index["richieste"], json!([id.as_str()]));
    let data: Value = serde_json::from_slice(&entries[&format!("{id}/richiesta.json")]).unwrap();
    assert_eq!(data["richiesta"]["_id"], id.as_str());
    assert!(data["campi"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["valore"] == CF));

    // An existing file is never overwritten; a bad code writes nothing.
    let again = install.run(&[
        "export",
        "--codice-fiscale",
        CF,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(again.failed().contains("cannot create"), "{again:#?}");
    let bad_out = install.path().join("bad.zip");
    let bad = install.run(&[
        "export",
        "--codice-fiscale",
        "RSSMRA85T10H501X",
        "--out",
        bad_out.to_str().unwrap(),
    ]);
    assert!(bad.failed().contains("codice_fiscale"), "{bad:#?}");
    assert!(!bad_out.exists());

    // Nobody: a zip that says so.
    let nobody = install.path().join("nobody.zip");
    let run = install.run(&[
        "export",
        "--codice-fiscale",
        "VRDLGU70M41L219B",
        "--out",
        nobody.to_str().unwrap(),
    ]);
    assert!(run.ok().contains("0 request(s) written"), "{run:#?}");
    assert_eq!(unzip(&nobody).keys().collect::<Vec<_>>(), ["indice.json"]);

    // The export is in the audit trail, without the code.
    let trail = install.run(&["audit", "list", "--request", &id]);
    assert!(trail.ok().contains("export_subject"), "{trail:#?}");
    assert!(!trail.ok().contains(CF), "{trail:#?}");
}
