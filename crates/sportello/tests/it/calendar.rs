//! `sportello calendar`: the calendar an admin configured, one line per day, for eyes and
//! scripts.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::Install;

const ROMA: &str = r#"
[calendars."CAF Roma Centro"]
closures = [
  { yearly = "06-29", reason = "Santi Pietro e Paolo, patroni di Roma" },
  { yearly = "12-24", reason = "Vigilia di Natale" },
  { dates = "2026-08-10..2026-08-21", reason = "Chiusura estiva" },
]
"#;

fn with_config(install: &Install, text: &str) -> std::path::PathBuf {
    let path = install.path().join("calendars.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn line<'a>(out: &'a str, date: &str) -> &'a str {
    out.lines().find(|l| l.starts_with(date)).unwrap()
}

#[test]
fn the_national_calendar_in_tsv_has_one_line_per_day_with_reasons() {
    let install = Install::new();
    let run = install.run(&["calendar", "2026", "--format", "tsv"]);
    let out = run.ok();
    assert_eq!(out.lines().count(), 365);
    assert_eq!(line(out, "2026-01-01"), "2026-01-01\tfalse\tCapodanno");
    assert_eq!(line(out, "2026-01-02"), "2026-01-02\ttrue");
    assert_eq!(line(out, "2026-01-03"), "2026-01-03\tfalse\tsabato");
    assert_eq!(
        line(out, "2026-04-06"),
        "2026-04-06\tfalse\tLunedì dell'Angelo"
    );
    assert_eq!(
        line(out, "2026-10-04"),
        "2026-10-04\tfalse\tFesta nazionale di San Francesco d'Assisi, patrono d'Italia"
    );
    assert_eq!(line(out, "2026-06-29"), "2026-06-29\ttrue");
    assert_eq!(out.lines().filter(|l| l.ends_with("\ttrue")).count(), 254);
}

#[test]
fn a_providers_closures_come_from_the_configuration() {
    let install = Install::new();
    let file = with_config(&install, ROMA);
    let mut cmd = install.command();
    cmd.arg("--config").arg(&file).args([
        "calendar",
        "2026",
        "--provider",
        "CAF Roma Centro",
        "--format",
        "tsv",
    ]);
    let run = install.run_command(cmd);
    let out = run.ok();
    assert_eq!(
        line(out, "2026-06-29"),
        "2026-06-29\tfalse\tSanti Pietro e Paolo, patroni di Roma"
    );
    assert_eq!(
        line(out, "2026-12-24"),
        "2026-12-24\tfalse\tVigilia di Natale"
    );
    assert_eq!(
        line(out, "2026-08-10"),
        "2026-08-10\tfalse\tChiusura estiva"
    );
    // A national holiday inside the closure keeps its own name.
    assert_eq!(
        line(out, "2026-08-15"),
        "2026-08-15\tfalse\tAssunzione della Beata Vergine Maria"
    );
    assert_eq!(line(out, "2026-08-24"), "2026-08-24\ttrue");
}

#[test]
fn closures_can_come_from_the_environment_too() {
    let install = Install::new();
    let mut cmd = install.command();
    cmd.env(
        "SPORTELLO_CALENDARS",
        r#"{"CAF Milano" = {closures = [{yearly = "12-07", reason = "Sant'Ambrogio"}]}}"#,
    )
    .args(["calendar", "2026", "--provider", "CAF Milano"]);
    let run = install.run_command(cmd);
    assert_eq!(
        line(run.ok(), "2026-12-07"),
        "2026-12-07  lun  chiuso      Sant'Ambrogio"
    );
    assert_eq!(line(run.ok(), "2026-12-09"), "2026-12-09  mer  lavorativo");
}

#[test]
fn an_unknown_provider_is_an_error_naming_the_configured_ones() {
    let install = Install::new();
    let file = with_config(&install, ROMA);
    let mut cmd = install.command();
    cmd.arg("--config")
        .arg(&file)
        .args(["calendar", "2026", "--provider", "CAF Napoli"]);
    let err = install.run_command(cmd).failed().to_string();
    assert!(err.contains("CAF Napoli"), "{err}");
    assert!(err.contains("CAF Roma Centro"), "{err}");
}

#[test]
fn a_bad_closure_is_refused_with_its_place_in_the_configuration() {
    let install = Install::new();
    let file = with_config(
        &install,
        "[calendars.\"CAF Roma\"]\nclosures = [{ yearly = \"29-06\", reason = \"x\" }]\n",
    );
    let mut cmd = install.command();
    cmd.arg("--config").arg(&file).args(["calendar", "2026"]);
    let err = install.run_command(cmd).failed().to_string();
    assert!(err.contains("calendars.\"CAF Roma\".closures[0]"), "{err}");
    assert!(err.contains("MM-DD"), "{err}");
}

#[test]
fn a_year_out_of_range_is_refused() {
    let install = Install::new();
    let err = install.run(&["calendar", "1200"]).failed().to_string();
    assert!(err.contains("1200"), "{err}");
}

#[tokio::test]
async fn a_running_server_fixes_due_times_on_the_providers_configured_calendar() {
    let install = Install::new();
    // The demo CAF closed from yesterday for 60 days (yesterday: whatever the hour in Rome).
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Duration::days(1);
    let to = today + chrono::Duration::days(60);
    let file = with_config(
        &install,
        &format!(
            "[calendars.\"CAF Demo\"]\nclosures = [{{ dates = \"{from}..{to}\", reason = \"Chiusura\" }}]\n"
        ),
    );
    let port = common::free_port();
    let mut cmd = install.command();
    cmd.arg("--config")
        .arg(&file)
        .args(["--listen", &format!("127.0.0.1:{port}"), "serve"]);
    let server = install.start_command(cmd, port).await;
    let (client, _) = server.demo_tokens().unwrap();
    let created = server
        .post(
            "/richiesta",
            &client,
            serde_json::json!({"hash_visura": common::STATO_DI_FAMIGLIA,
                               "json_visura": common::stato_di_famiglia()}),
        )
        .await;
    let scadenza = created.ok()["scadenza"].as_i64().unwrap();
    // 20 working days counted only after the closure ends.
    let reopening = (to + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    assert!(
        scadenza > reopening + 20 * 86_400,
        "{scadenza} vs {reopening}"
    );
}
