//! A real S3-compatible server for the tests: moto's server mode (pinned in
//! `tools/test-requirements.txt`, installed by `./test.sh`) on 127.0.0.1, with one bucket, and the settings that point the binary at it.
#![allow(dead_code, clippy::unwrap_used)]

use super::free_port;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bucket every test server gets.
pub const BUCKET: &str = "sportello-test";

/// A moto S3 server, killed on drop.
pub struct S3Server {
    child: Child,
    pub endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// Starts moto (its log in `dir/moto.log`) and creates the bucket. If it cannot start, the
    /// test fails — a storage test that skips proves nothing.
    pub async fn start(dir: &std::path::Path) -> S3Server {
        let port = free_port();
        let log = std::fs::File::create(dir.join("moto.log")).unwrap();
        let python = super::python::with_module("moto.server");
        let child = Command::new(python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting moto's S3 server");
        let mut server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "the moto S3 server exited ({status}); is `moto[server]` installed? log:\n{}",
                    std::fs::read_to_string(dir.join("moto.log")).unwrap_or_default()
                );
            }
            if http.get(&server.endpoint).send().await.is_ok() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the moto S3 server did not answer on {} in a minute",
                server.endpoint
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let made = http
            .put(format!("{}/{BUCKET}", server.endpoint))
            .send()
            .await
            .unwrap();
        assert!(made.status().is_success(), "creating the bucket: {made:?}");
        server
    }

    /// Points `cmd` (the binary) at the bucket, its files under `prefix`.
    pub fn configure(&self, cmd: &mut Command, prefix: &str) {
        cmd.env("SPORTELLO_STORAGE_URL", format!("s3://{BUCKET}/{prefix}"))
            .env("SPORTELLO_STORAGE_ENDPOINT", &self.endpoint)
            .env("SPORTELLO_STORAGE_REGION", "eu-south-1")
            .env("SPORTELLO_STORAGE_ACCESS_KEY_ID", "testing")
            .env("SPORTELLO_STORAGE_SECRET_ACCESS_KEY", "testing")
            .env("SPORTELLO_STORAGE_ALLOW_HTTP", "true");
    }

    /// Every object of the bucket, as stored, with its ETag: listed and read with an S3 client
    /// of its own, not through the server.
    pub async fn objects(&self) -> Vec<(String, Vec<u8>, String)> {
        use futures::TryStreamExt;
        use object_store::ObjectStore;
        let s3 = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_endpoint(&self.endpoint)
            .with_region("eu-south-1")
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .with_allow_http(true)
            .build()
            .unwrap();
        let listed: Vec<_> = s3.list(None).try_collect().await.unwrap();
        let mut out = Vec::new();
        for meta in listed {
            let bytes = s3.get(&meta.location).await.unwrap().bytes().await.unwrap();
            let etag = meta.e_tag.clone().unwrap_or_default();
            out.push((meta.location.to_string(), bytes.to_vec(), etag));
        }
        out
    }
}
