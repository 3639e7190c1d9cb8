//! A typed client for [Sportello](https://github.com/)'s client API, which is compatible with
//! the Visengine API: the catalog, requests, result documents, and the verification of the
//! signed webhooks Sportello sends.
//!
//! ```no_run
//! use sportello_client::{Client, NewRichiesta};
//!
//! # async fn run() -> Result<(), sportello_client::Error> {
//! let client = Client::new("http://127.0.0.1:8080", "spt_test_…")?;
//! let service = client.visura("4c84e22bbabd5f25b0102bb3bfe82790").await?;
//! println!("{} costs €{}", service.nome_visura, service.prezzo_visura);
//!
//! let richiesta = client
//!     .submit(
//!         NewRichiesta::new(&service.hash_visura)
//!             .field("$0", "Mario")
//!             .field("$1", "Rossi"),
//!     )
//!     .await?;
//! println!("{} is {}", richiesta.id, richiesta.stato_richiesta);
//! # Ok(())
//! # }
//! ```
//!
//! Submissions carry an `Idempotency-Key`, kept across the client's retries: a submission that
//! timed out is retried without ever creating two requests. Errors keep the server's
//! machine-readable code and the fields it names ([`Error::Api`]).

mod client;
mod error;
mod types;
pub mod webhook;

pub use client::{Client, ClientBuilder};
pub use error::{Detail, Error};
pub use types::*;
