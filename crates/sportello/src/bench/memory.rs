//! Memory of a real `sportello serve` process: this binary started as a child on a prepared
//! data directory, its resident set read from `/proc/<pid>/status` while it idles, while it
//! creates requests, and while ten clients download one large result.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A `sportello serve` child, killed when dropped.
pub struct ServeProcess {
    child: Child,
    pub base: String,
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServeProcess {
    /// Starts this very binary as `serve` on `data_dir` and waits until it answers `/healthz`.
    pub async fn serve(data_dir: &Path, http: &reqwest::Client) -> Result<ServeProcess> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let listen = format!("127.0.0.1:{port}");
        let exe = std::env::current_exe().context("finding the sportello binary")?;
        let child = Command::new(exe)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg(&listen)
            // Nothing of the caller's installation may leak into the measured process.
            .current_dir(data_dir)
            .env_remove("SPORTELLO_CONFIG")
            .env_remove("SPORTELLO_DATABASE_URL")
            .env_remove("SPORTELLO_MASTER_KEY")
            .env_remove("SPORTELLO_MASTER_KEY_FILE")
            .env("SPORTELLO_RATE_PER_TOKEN_PER_MINUTE", "0")
            .env("SPORTELLO_RATE_PER_IP_PER_MINUTE", "0")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting sportello serve")?;
        let mut running = ServeProcess {
            child,
            base: format!("http://{listen}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http.get(format!("{}/healthz", running.base)).send().await {
                if r.status().is_success() {
                    return Ok(running);
                }
            }
            if let Some(status) = running.child.try_wait()? {
                bail!("sportello serve exited before answering: {status}");
            }
            if Instant::now() > deadline {
                bail!("sportello serve did not answer /healthz within a minute");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The resident set now, in bytes.
    pub fn rss(&self) -> Result<u64> {
        rss_of(self.child.id())
    }

    /// Samples the resident set every 10 ms until the returned guard is finished; the peak.
    pub fn sample_peak(&self) -> Sampler {
        let pid = self.child.id();
        let peak = Arc::new(AtomicU64::new(0));
        let seen = peak.clone();
        let task = tokio::spawn(async move {
            loop {
                if let Ok(rss) = rss_of(pid) {
                    seen.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        Sampler { peak, task }
    }
}

pub struct Sampler {
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    pub fn finish(self) -> u64 {
        self.task.abort();
        self.peak.load(Ordering::Relaxed)
    }
}

fn rss_of(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("reading /proc/<pid>/status (Linux only)")?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmRSS in /proc/<pid>/status")?;
    Ok(kb * 1024)
}

/// A PDF of `size` bytes whose body does not compress (a zip of it stays as large) and holds no
/// page objects, so the file checks accept it whatever its size.
pub fn large_pdf(size: usize) -> Vec<u8> {
    let head = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n%";
    let tail = b"\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let mut out = Vec::with_capacity(size.max(head.len() + tail.len()));
    out.extend_from_slice(head);
    // xorshift64: cheap noise; no `/`, so nothing in it reads as a PDF name like `/Page`.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while out.len() + tail.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend(
            x.to_le_bytes()
                .iter()
                .map(|&b| if b == b'/' { b'.' } else { b }),
        );
    }
    out.truncate(size.saturating_sub(tail.len()).max(head.len()));
    out.extend_from_slice(tail);
    out
}
