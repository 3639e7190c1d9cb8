//! A real SMTP server for the tests that send e-mail.
#![allow(clippy::unwrap_used)]

/// A real SMTP server: aiosmtpd (pinned in tools/test-requirements.txt), writing to a Maildir.
pub struct Smtp {
    child: std::process::Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl Smtp {
    pub async fn start() -> Smtp {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = tempfile::tempdir().unwrap();
        let python = super::python::with_module("aiosmtpd");
        let child = std::process::Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("starting aiosmtpd");
        // Ready when it accepts connections.
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Smtp {
            child,
            port,
            maildir,
        }
    }

    pub fn settings(&self) -> sportello_server::outbox::email::SmtpSettings {
        sportello_server::outbox::email::SmtpSettings {
            host: "127.0.0.1".into(),
            port: self.port,
            tls: sportello_server::outbox::email::SmtpTls::None,
            username: None,
            password: None,
            from: "Sportello <noreply@sportello.test>".into(),
            timeout: std::time::Duration::from_secs(10),
        }
    }

    pub fn messages(&self) -> Vec<String> {
        let dir = self.maildir.path().join("mail").join("new");
        let mut out: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

impl Smtp {
    /// The messages in the order they arrived.
    pub fn messages_by_arrival(&self) -> Vec<String> {
        let dir = self.maildir.path().join("mail").join("new");
        let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = std::fs::read_dir(dir)
            .map(|d| {
                d.map(|e| {
                    let path = e.unwrap().path();
                    (std::fs::metadata(&path).unwrap().modified().unwrap(), path)
                })
                .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .into_iter()
            .map(|(_, p)| std::fs::read_to_string(p).unwrap())
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
