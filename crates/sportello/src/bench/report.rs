//! The bench's table: one row per measurement, SQLite and PostgreSQL side by side. Every row
//! starts with a fixed label, so a person can compare runs and a test can find each one.

use super::load::Stats;

/// What one database gave.
pub struct Backend {
    /// Single-row durable commits per second, or why it was not measured.
    pub ceiling: Result<f64, String>,
    /// The same rows, [`super::GROUPED`] to a transaction: what one fsync per batch allows.
    pub grouped: Result<f64, String>,
    /// Creation runs, in the order of `RUNS` (tenants, callers).
    pub creation: Vec<Creation>,
    /// `GET /visure` per second, 16 clients.
    pub visure: f64,
}

/// One creation run.
pub struct Creation {
    pub stats: Stats,
    pub writes: Writes,
}

/// What the group commit's writers ran during a run, counted by the store as it runs them.
pub struct Writes {
    /// Statements (BEGIN and COMMIT included) per creation. Each is one round trip to
    /// PostgreSQL, one hand-off to the connection's thread on SQLite.
    pub statements: f64,
    /// Creations per transaction.
    pub batch: f64,
    /// Batches written again one creation per savepoint.
    pub split: u64,
}

impl Writes {
    pub fn between(
        before: sportello_store::WriteCounts,
        after: sportello_store::WriteCounts,
    ) -> Writes {
        let creations = after.creations.saturating_sub(before.creations).max(1) as f64;
        let transactions = after
            .transactions
            .saturating_sub(before.transactions)
            .max(1) as f64;
        Writes {
            statements: after.statements.saturating_sub(before.statements) as f64 / creations,
            batch: creations / transactions,
            split: after.split.saturating_sub(before.split),
        }
    }
}

/// The resident set of the `serve` process, bytes.
pub struct Memory {
    pub idle: u64,
    pub under_load: u64,
    /// Ten clients on `GET /documento/{id}/download` (the zip, binary).
    pub binary: Downloads,
    /// Ten clients on `GET /documento/{id}` (the zip base64 inside the JSON envelope).
    pub json: Downloads,
    /// A hostile JSON body, a hostile form, made-up methods.
    pub hostile: super::hostile::Hostile,
}

/// Ten concurrent downloads of the large result.
pub struct Downloads {
    /// The resident set just before, and its peak during them.
    pub before: u64,
    pub peak: u64,
    /// What one client received.
    pub body_bytes: u64,
}

pub struct Report {
    pub requests: usize,
    pub download_bytes: usize,
    pub sqlite: Backend,
    pub postgres: Result<Backend, String>,
    pub trivial: f64,
    pub validations: f64,
    pub memory: Memory,
    pub logins: super::logins::LoginFlood,
}

impl Report {
    pub fn print(&self, debug_build: bool) {
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!(
            "sportello bench: {} build, {cpus} CPUs, {} calls per measurement",
            if debug_build {
                "DEBUG (numbers mean nothing; use a release build)"
            } else {
                "release"
            },
            self.requests
        );
        row("", "sqlite", "postgres");
        let pg = self.postgres.as_ref();
        let sqlite: Result<&Backend, &String> = Ok(&self.sqlite);
        row(
            "commit ceiling",
            &column(sqlite, ceiling),
            &column(pg, ceiling),
        );
        row(
            &format!("grouped ceiling, {} per commit", super::GROUPED),
            &column(sqlite, grouped),
            &column(pg, grouped),
        );
        let runs = super::RUNS.iter().map(|(tenants, callers)| {
            format!(
                "{tenants} tenant{}, {callers} caller{}",
                if *tenants == 1 { "" } else { "s" },
                if *callers == 1 { "" } else { "s" }
            )
        });
        for (i, run) in runs.clone().enumerate() {
            let label = format!("create, {run}");
            row(
                &label,
                &column(sqlite, |b| creation(b, i)),
                &column(pg, |b| creation(b, i)),
            );
        }
        // What the writers ran per creation: the serial part of a creation (the reads before
        // it, of the token, the balance and the route, run on the pool in parallel).
        for (i, run) in runs.enumerate() {
            row(
                &format!("writes, {run}"),
                &column(sqlite, |b| writes(b, i)),
                &column(pg, |b| writes(b, i)),
            );
        }
        row(
            "GET /visure, 16 clients",
            &column(sqlite, |b| visure(b, self.trivial)),
            &column(pg, |b| visure(b, self.trivial)),
        );
        row("trivial handler, 16 clients", &rate(self.trivial), "");
        row(
            "codice fiscale validations",
            &format!("{} /s", si(self.validations)),
            "",
        );
        let m = &self.memory;
        row("RSS idle", &mb(m.idle), "");
        row("RSS under creation load", &mb(m.under_load), "");
        let size = self.download_bytes / (1024 * 1024);
        let grew = |d: &Downloads, what: &str| {
            format!(
                "{} ({:+.1} MB over the {} before; {what} {})",
                mb(d.peak),
                (d.peak as f64 - d.before as f64) / (1024.0 * 1024.0),
                mb(d.before),
                mb(d.body_bytes)
            )
        };
        row(
            &format!("RSS during 10 downloads of {size} MB"),
            &grew(&m.binary, "archive"),
            "",
        );
        row(
            &format!("RSS during 10 GET /documento {size} MB"),
            &grew(&m.json, "JSON"),
            "",
        );
        let (label, value) = self.logins.row();
        row(&label, &value, "");
        let h = &m.hostile;
        let body_mb = h.json.body_bytes / (1024 * 1024);
        row(
            &format!("RSS hostile JSON {body_mb} MB"),
            &h.json.show(),
            "",
        );
        let form_mb = h.form.body_bytes / (1024 * 1024);
        row(
            &format!("RSS hostile form {form_mb} MB"),
            &h.form.show(),
            "",
        );
        row(
            &format!("RSS {} made-up methods", h.methods.requests),
            &h.methods.show(),
            "",
        );
    }
}

fn row(label: &str, sqlite: &str, postgres: &str) {
    println!("{label:<34} {sqlite:<46} {postgres}");
    // A value wider than its column pushes the next one right; the line stays whole.
}

fn column(backend: Result<&Backend, &String>, show: impl Fn(&Backend) -> String) -> String {
    match backend {
        Ok(b) => show(b),
        Err(why) => why.clone(),
    }
}

fn ceiling(b: &Backend) -> String {
    match &b.ceiling {
        Ok(c) => format!("{} commits/s", si(*c)),
        Err(why) => why.clone(),
    }
}

fn grouped(b: &Backend) -> String {
    match (&b.grouped, &b.ceiling) {
        (Ok(g), Ok(c)) if *c > 0.0 => format!("{} rows/s ({:.1}× ceiling)", si(*g), g / c),
        (Ok(g), _) => format!("{} rows/s", si(*g)),
        (Err(why), _) => why.clone(),
    }
}

fn writes(b: &Backend, i: usize) -> String {
    let Some(Creation { writes: w, .. }) = b.creation.get(i) else {
        return "not measured".into();
    };
    let split = if w.split > 0 {
        format!(", {} split", w.split)
    } else {
        String::new()
    };
    format!(
        "{:.1} statements = round trips per creation, {:.1} per commit{split}",
        w.statements, w.batch
    )
}

fn creation(b: &Backend, i: usize) -> String {
    let Some(Creation { stats: s, .. }) = b.creation.get(i) else {
        return "not measured".into();
    };
    let ratio = match &b.ceiling {
        Ok(c) if *c > 0.0 => format!("{:.2}× ceiling", s.per_sec() / c),
        _ => "no ceiling".into(),
    };
    let failed = if s.failed > 0 {
        format!(" ({} FAILED)", s.failed)
    } else {
        String::new()
    };
    format!(
        "{} {ratio} p50 {:.1} ms p99 {:.1} ms{failed}",
        rate(s.per_sec()),
        s.percentile_ms(0.5),
        s.percentile_ms(0.99)
    )
}

fn visure(b: &Backend, trivial: f64) -> String {
    if trivial > 0.0 {
        format!("{} {:.2}× trivial", rate(b.visure), b.visure / trivial)
    } else {
        rate(b.visure)
    }
}

fn rate(per_sec: f64) -> String {
    format!("{}/s", si(per_sec))
}

/// 1234 → "1234", 123456 → "123k", 1234567 → "1.23M": enough digits to compare runs.
fn si(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e5 {
        format!("{:.0}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}
