//! The whole flow with the Rust client and a test token: read a service, submit a request, wait
//! for the sandbox's simulated operator to process it, and download the result.
//!
//! ```text
//! SPORTELLO_URL=http://127.0.0.1:8080 SPORTELLO_TOKEN=spt_test_… \
//!     cargo run -p sportello-client --example flow
//! ```

use sportello_client::{Client, Error, NewRichiesta};
use std::time::Duration;

const FAMIGLIA: &str = "4c84e22bbabd5f25b0102bb3bfe82790";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    run(&var("SPORTELLO_URL")?, &var("SPORTELLO_TOKEN")?).await
}

pub async fn run(url: &str, token: &str) -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::new(url, token)?;
    let service = client.visura(FAMIGLIA).await?;
    println!(
        "service: {}, €{}",
        service.nome_visura, service.prezzo_visura
    );

    let form = NewRichiesta::new(FAMIGLIA)
        .field("$0", "Mario")
        .field("$1", "Rossi")
        .field("$2", "1985-12-10")
        .field("$3", "Italia")
        .field("$4", "Roma")
        .field("$5", "RM")
        .field("$6", "H501");
    // A mistake comes back with the server's code and the failing field.
    match client
        .submit(form.clone().field("$7", "RSSMRA85T10H501A"))
        .await
    {
        Err(Error::Api { code, details, .. }) => {
            println!("refused: error {code} on {}", details[0].campo)
        }
        other => return Err(format!("a wrong codice fiscale was not refused: {other:?}").into()),
    }
    let r = client.submit(form.field("$7", "RSSMRA85T10H501O")).await?;
    println!("submitted: {} ({})", r.id, r.stato_richiesta);

    // The sandbox processes a test request within seconds; a live one waits for a CAF. A
    // callback would tell us; here we poll.
    let done = client
        .wait_until_final(&r.id, Duration::from_millis(200), Duration::from_secs(60))
        .await?;
    let documento = client.download(&done.id).await?;
    println!("now: {}", done.stato_richiesta);
    println!(
        "documento: {}, {} bytes, sha256 verified",
        documento.nome,
        documento.zip.len()
    );
    Ok(())
}
