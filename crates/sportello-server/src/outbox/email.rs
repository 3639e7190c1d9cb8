//! E-mail to a request's `email_target` over SMTP (lettre): Italian text, and nothing personal
//! but the address the client itself gave. The result archive travels as an attachment only
//! when the service's catalog entry says `email_attachment = true`; otherwise the text says it
//! is ready to download.

use std::time::Duration;

use chrono::DateTime;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sportello_domain::catalog::Service;
use sportello_store::{EventType, RequestRecord};

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (a relay on the same host, or tests).
    None,
    /// Plain, upgraded with STARTTLS (required).
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

impl SmtpTls {
    pub fn parse(s: &str) -> Option<SmtpTls> {
        match s {
            "none" => Some(SmtpTls::None),
            "starttls" => Some(SmtpTls::StartTls),
            "tls" => Some(SmtpTls::Tls),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, `Sportello <noreply@example.org>` or a bare address.
    pub from: String,
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .finish()
    }
}

/// Why a message was not sent. `permanent` failures are not retried.
#[derive(Debug)]
pub struct MailError {
    pub message: String,
    pub permanent: bool,
}

/// The text of the message for `event` (None: this event is not mailed).
pub fn compose_text(
    event: EventType,
    r: &RequestRecord,
    service: &Service,
    attached: bool,
) -> Option<(String, String)> {
    let date = DateTime::from_timestamp(r.updated_at, 0)
        .map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_default();
    let footer = "Questo messaggio è stato inviato automaticamente da Sportello: non rispondere.\n\
                  Hai ricevuto questa e-mail perché il tuo indirizzo è stato indicato per la \
                  richiesta qui sopra.";
    match event {
        EventType::Processed => {
            let result = if attached {
                "Il risultato è allegato a questo messaggio (archivio zip).".to_string()
            } else {
                format!(
                    "Il risultato è pronto e si può scaricare tramite il servizio con cui è stata \
                     inviata la richiesta (documento {}).",
                    r.id
                )
            };
            Some((
                format!("Richiesta {} evasa: {}", r.id, service.nome_visura),
                format!(
                    "Gentile cliente,\n\nla richiesta {} ({}) è stata evasa il {date}.\n{result}\n\n{footer}\n",
                    r.id, service.nome_visura
                ),
            ))
        }
        EventType::Cancelled => Some((
            format!("Richiesta {} annullata: {}", r.id, service.nome_visura),
            format!(
                "Gentile cliente,\n\nla richiesta {} ({}) è stata annullata il {date}. \
                 Per i dettagli rivolgiti al servizio con cui è stata inviata.\n\n{footer}\n",
                r.id, service.nome_visura
            ),
        )),
        _ => None,
    }
}

/// The message carrying a code of the person's page. Nothing but the code and the service.
pub fn code_text(
    code: &str,
    purpose: sportello_domain::invitation::Purpose,
    service: &str,
) -> (String, String) {
    use sportello_domain::invitation::Purpose;
    let (subject, why) = match purpose {
        Purpose::Accesso => (
            format!("Il tuo codice per aprire la pratica: {code}"),
            "Scrivilo nella pagina che hai aperto per continuare.",
        ),
        Purpose::Mandato => (
            format!("Il tuo codice per accettare il mandato: {code}"),
            "Scrivilo nella pagina per confermare che accetti il mandato. Se non sei stato tu \
             ad accettarlo, non scrivere il codice da nessuna parte.",
        ),
    };
    let text = format!(
        "Buongiorno,\n\nil codice per la pratica «{service}» è:\n\n    {code}\n\n{why}\n\n\
         Il codice vale 10 minuti e si può usare una volta sola. Non darlo a nessuno: nessuno \
         te lo chiederà per telefono o per e-mail.\n\n{FOOTER_PERSON}\n"
    );
    (subject, text)
}

const FOOTER_PERSON: &str =
    "Questo messaggio è stato inviato automaticamente da Sportello: non rispondere.";

/// What the person hears at the invitation's address (None: this event is not theirs): the
/// invitation, something asked of them, the result, the cancellation. Only the client's name,
/// the service and the link; the result is mentioned only when the client let them see it.
pub fn person_text(
    event: EventType,
    client: &str,
    service: &str,
    link: &str,
    until: Option<i64>,
    risultato_visibile: bool,
) -> Option<(String, String)> {
    let until = until
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .map(|d| {
            format!(
                "Il link vale fino al {}.",
                d.with_timezone(&sportello_domain::calendar::ROME)
                    .format("%d/%m/%Y")
            )
        })
        .unwrap_or_default();
    let (subject, body) = match event {
        EventType::InvitationSent => (
            format!("{client} ti chiede di completare una pratica: {service}"),
            format!(
                "{client} ti chiede di completare la pratica «{service}»: inserire i dati che \
                 mancano, caricare i documenti e accettare il mandato per il CAF o il Patronato \
                 che se ne occuperà.\n\nApri la tua pagina:\n{link}\n\nAll'apertura ti \
                 chiederemo un codice di 6 cifre, che ti manderemo a questo indirizzo. {until}\n\n\
                 Se non conosci {client} o non aspettavi questo messaggio, ignoralo: senza il \
                 codice nessuno può aprire la pagina."
            ),
        ),
        EventType::IntegrationRequested => (
            format!("Servono altri dati per la pratica: {service}"),
            format!(
                "per la pratica «{service}» servono altri dati o documenti. Trovi che cosa serve \
                 e puoi inviarlo dalla tua pagina:\n{link}"
            ),
        ),
        EventType::Processed if risultato_visibile => (
            format!("Pratica completata: {service}"),
            format!(
                "la pratica «{service}» è stata completata. Puoi scaricare il risultato dalla \
                 tua pagina:\n{link}\n\n{until}"
            ),
        ),
        EventType::Processed => (
            format!("Pratica completata: {service}"),
            format!(
                "la pratica «{service}» è stata completata. Per il risultato rivolgiti a \
                 {client}. Lo stato della pratica resta visibile sulla tua pagina:\n{link}\n\n\
                 {until}"
            ),
        ),
        EventType::Cancelled => (
            format!("Pratica annullata: {service}"),
            format!(
                "la pratica «{service}» è stata annullata. Per sapere perché rivolgiti a \
                 {client}.\n\nLa tua pagina:\n{link}"
            ),
        ),
        _ => return None,
    };
    Some((
        subject,
        format!("Buongiorno,\n\n{}\n\n{FOOTER_PERSON}\n", body.trim_end()),
    ))
}

/// Sends one message; `attachment` is the result archive's name and bytes.
pub async fn send(
    settings: &SmtpSettings,
    to: &str,
    subject: String,
    text: String,
    attachment: Option<(String, Vec<u8>)>,
) -> Result<(), MailError> {
    let permanent = |message: String| MailError {
        message,
        permanent: true,
    };
    let from: Mailbox = settings.from.parse().map_err(|_| {
        permanent("the configured sender (smtp_from) is not a valid address".into())
    })?;
    let to: Mailbox = to
        .parse()
        .map_err(|_| permanent("email_target is not a valid address".into()))?;
    let builder = Message::builder().from(from).to(to).subject(subject);
    let message = match attachment {
        None => builder.singlepart(SinglePart::plain(text)),
        Some((name, bytes)) => builder.multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(text))
                .singlepart(Attachment::new(name).body(
                    bytes,
                    ContentType::parse("application/zip").unwrap_or(ContentType::TEXT_PLAIN),
                )),
        ),
    }
    .map_err(|e| permanent(format!("the message could not be built: {e}")))?;
    let transport = transport(settings).map_err(|e| MailError {
        message: smtp_error(&e),
        permanent: false,
    })?;
    transport.send(message).await.map_err(|e| MailError {
        // A permanent (5xx) answer names a refused address or message; retrying repeats it.
        permanent: e.is_permanent(),
        message: smtp_error(&e),
    })?;
    Ok(())
}

/// The failure in our words: the server's own text often quotes the address, which is personal
/// data and must not reach the delivery log.
fn smtp_error(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) => format!("SMTP: the server answered {code}"),
        None if e.is_timeout() => "SMTP: timed out".to_string(),
        None if e.is_tls() => "SMTP: the TLS handshake failed".to_string(),
        None => "SMTP: could not connect to or talk with the server".to_string(),
    }
}

fn transport(
    s: &SmtpSettings,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
    let builder = match s.tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
        SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)?,
    };
    let mut builder = builder.port(s.port).timeout(Some(s.timeout));
    if let (Some(u), Some(p)) = (&s.username, &s.password) {
        builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
    }
    Ok(builder.build())
}
