//! Scratch databases for test suites and benchmarks on a PostgreSQL server: one database per
//! process (`sportello_test_<pid>`), and a fresh schema in it for each caller, so hundreds of
//! test apps running at once each get an empty store without paying for a `CREATE DATABASE`
//! apiece (measured on this machine: about 140 ms for a database, 10 ms for a schema).
//!
//! Nothing runs at a process's exit, so a run's database is dropped by the next run that finds
//! its process gone (the pid is in the name).

use sqlx::postgres::PgConnection;
use sqlx::Connection;
use tokio::sync::OnceCell;

use crate::StoreError;

const PREFIX: &str = "sportello_test_";

/// This process's database, made once.
static DATABASE: OnceCell<String> = OnceCell::const_new();

/// A URL naming a new, empty schema in this process's scratch database on the server of
/// `server_url` (`postgres://user@host:port`, any database or query in it is ignored). Open a
/// [`super::PgStore`] on it to get a fresh store.
pub async fn fresh_schema_url(server_url: &str) -> Result<String, StoreError> {
    let server = server_part(server_url);
    let database = DATABASE
        .get_or_try_init(|| create_database(&server))
        .await?;
    let schema = format!(
        "t{}",
        hex::encode(rand::random::<[u8; 8]>()) // unique among this process's callers
    );
    let mut conn = PgConnection::connect(&format!("{server}/{database}")).await?;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    // `options` sets the schema as the search path of every connection of the pool.
    Ok(format!(
        "{server}/{database}?options=-c%20search_path%3D{schema}"
    ))
}

/// `scheme://authority` of a URL: what is before the path.
fn server_part(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    match url.find("://") {
        Some(i) => match url[i + 3..].find('/') {
            Some(j) => url[..i + 3 + j].to_string(),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Drops the scratch databases of processes that are gone, then makes this process's.
async fn create_database(server: &str) -> Result<String, StoreError> {
    let mut conn = PgConnection::connect(&format!("{server}/postgres")).await?;
    let existing: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
            .bind(PREFIX)
            .fetch_all(&mut conn)
            .await?;
    let own = format!("{PREFIX}{}", std::process::id());
    for name in existing {
        let gone = match name[PREFIX.len()..].parse::<u32>() {
            Ok(pid) => pid == std::process::id() || !process_alive(pid),
            Err(_) => false,
        };
        if gone {
            // FORCE: a killed run may have left connections open. Another run starting now may
            // be dropping it too: its failure here is not this run's.
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
    sqlx::query(&format!("CREATE DATABASE {own}"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(own)
}

fn process_alive(pid: u32) -> bool {
    // Where /proc is not there, assume alive: a stale database is only wasted space.
    !std::path::Path::new("/proc/self").exists()
        || std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(test)]
mod tests {
    use super::server_part;

    #[test]
    fn the_server_part_drops_database_and_query() {
        for (url, server) in [
            (
                "postgres://postgres@127.0.0.1:5432",
                "postgres://postgres@127.0.0.1:5432",
            ),
            ("postgres://u:p@h:5432/db", "postgres://u:p@h:5432"),
            ("postgresql://h/db?sslmode=disable", "postgresql://h"),
            ("postgres://h?x=1", "postgres://h"),
        ] {
            assert_eq!(server_part(url), server, "{url}");
        }
    }
}
