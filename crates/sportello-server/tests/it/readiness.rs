//! `/readyz`: ready only when the database answers and the file store takes a write.

#![allow(clippy::unwrap_used)]

use crate::common;
use common::*;

#[tokio::test]
async fn a_working_server_is_ready_and_the_probe_leaves_nothing_behind() {
    let app = TestApp::spawn().await;
    let answer = app.raw(app.http.get(format!("{}/readyz", app.base))).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.data()["database"], "ok");
    assert_eq!(answer.data()["files"], "ok");
    let files = app.dir.path().join("files");
    let left: Vec<_> = walk(&files);
    assert!(left.is_empty(), "the probe left {left:?}");
}

#[tokio::test]
async fn a_file_store_that_cannot_be_written_makes_the_server_not_ready() {
    let app = TestApp::spawn().await;
    // The files directory replaced by a plain file: nothing can be stored below it.
    let files = app.dir.path().join("files");
    std::fs::remove_dir_all(&files).unwrap();
    std::fs::write(&files, b"not a directory").unwrap();
    let answer = app.raw(app.http.get(format!("{}/readyz", app.base))).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.error_code(), 919);
    assert!(answer.body["message"]
        .as_str()
        .unwrap()
        .contains("file store"));
    // Liveness is another question: the process and its database are fine.
    let live = app.raw(app.http.get(format!("{}/healthz", app.base))).await;
    assert_eq!(live.status, 200);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
