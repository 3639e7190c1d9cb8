//! The person's own page (`/compila/…`): the invitation a client sends the person a practice is
//! about, the one-time codes that prove the link reached them, what they agreed to, and when
//! the link stops working.
//!
//! The rules live here so that the API, the pages and the outbox ask them rather than repeat
//! them; time arrives as an argument.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Digits of a code sent by e-mail.
pub const CODE_DIGITS: u32 = 6;
/// How long a code may be used.
pub const CODE_TTL_SECS: i64 = 10 * 60;
/// Wrong tries a code survives; then a new code must be asked for.
pub const CODE_MAX_ATTEMPTS: u32 = 5;
/// The least time between two codes sent for one invitation while the first is still pending
/// for the same step ("invia di nuovo").
pub const CODE_RESEND_SECS: i64 = 60;
/// Codes one invitation may be sent within an hour.
pub const CODES_PER_HOUR: usize = 5;
/// How long the person stays recognised on their device after a code.
pub const SESSION_SECS: i64 = 2 * 3600;
/// Days an invitation may be given (`scadenza_giorni`).
pub const MAX_DAYS: u32 = 90;
/// The default of `scadenza_giorni`.
pub const DEFAULT_DAYS: u32 = 7;

/// `invito.stato`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Made (and, with `consegna: "email"`, mailed); not opened yet.
    Inviato,
    /// The person proved the link is theirs with the first code.
    Aperto,
    /// The person submitted the practice from the page.
    Completato,
    /// The client revoked it, or replaced it with a new one.
    Revocato,
    /// Its time ran out.
    Scaduto,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Inviato => "inviato",
            State::Aperto => "aperto",
            State::Completato => "completato",
            State::Revocato => "revocato",
            State::Scaduto => "scaduto",
        }
    }
}

/// `invito.consegna`: who carries the link to the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Consegna {
    /// Sportello mails it.
    Email,
    /// The client's answer carries it once, for its own channel.
    Link,
}

impl Consegna {
    pub fn parse(s: &str) -> Option<Consegna> {
        match s {
            "email" => Some(Consegna::Email),
            "link" => Some(Consegna::Link),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Consegna::Email => "email",
            Consegna::Link => "link",
        }
    }
}

/// What a code is for: opening the page, or confirming an on-screen acceptance of the mandate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Accesso,
    Mandato,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Accesso => "accesso",
            Purpose::Mandato => "mandato",
        }
    }
}

/// A code sent and not yet used. The code itself is never stored: `hash` is a keyed hash the
/// server can only recompute with the request's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCode {
    pub purpose: Purpose,
    pub hash: String,
    pub expires_at: i64,
    pub attempts: u32,
}

/// An on-screen acceptance of the mandate waiting for its confirming code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAcceptance {
    /// The full name the person typed.
    pub nome: String,
    /// SHA-256 of the mandate text shown (the filled text, as the PDF prints it).
    pub sha256_testo: String,
    pub versione: i64,
    pub at: i64,
}

/// The person's device, recognised by a cookie whose SHA-256 is `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub hash: String,
    pub expires_at: i64,
}

/// An invitation, as a request keeps it (sealed: it holds the person's address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: String,
    pub email: String,
    pub consegna: Consegna,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaggio: Option<String>,
    /// Until when the page may be opened before the practice is submitted.
    pub scadenza: i64,
    pub risultato_visibile: bool,
    pub stato: State,
    /// When each state was entered.
    pub timestamp_stati: BTreeMap<String, i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<PendingCode>,
    /// When the last codes were sent (the newest [`CODES_PER_HOUR`]), for the resend limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes_sent: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<Session>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance: Option<PendingAcceptance>,
    /// When the person last read the privacy notice on the page (recorded as a consent once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub informativa_at: Option<i64>,
    /// The `$n` fields the client had filled when it invited: the page shows them read-only
    /// and asks only for the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefilled: Vec<String>,
}

/// Why the page will not open for a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    Revoked,
    Expired,
}

impl Invitation {
    /// Moves to `stato` at `now`, stamping it.
    pub fn enter(&mut self, stato: State, now: i64) {
        self.stato = stato;
        self.timestamp_stati.insert(stato.as_str().to_string(), now);
    }

    /// Whether the link works at `now`: before the practice is submitted until `scadenza`;
    /// after, until `days_after_close` days after it was closed (or for as long as it is open).
    pub fn access(
        &self,
        submitted: bool,
        closed_at: Option<i64>,
        days_after_close: u32,
        now: i64,
    ) -> Result<(), Closed> {
        match self.stato {
            State::Revocato => return Err(Closed::Revoked),
            State::Scaduto => return Err(Closed::Expired),
            _ => {}
        }
        let until = match (submitted, closed_at) {
            (false, _) => self.scadenza,
            (true, None) => i64::MAX,
            (true, Some(closed)) => closed.saturating_add(i64::from(days_after_close) * 86_400),
        };
        if now >= until {
            Err(Closed::Expired)
        } else {
            Ok(())
        }
    }

    /// Whether a new code for `purpose` may be sent at `now`; `Err` holds the seconds to wait.
    pub fn may_send_code(&self, purpose: Purpose, now: i64) -> Result<(), i64> {
        // The minute between two codes is for "send it again": the first code of another step
        // (the mandate's, right after the access code was used) is not a resend, and making
        // the person wait for it would stop a quick reader at the mandate.
        let resend = self.code.as_ref().is_some_and(|c| c.purpose == purpose);
        if let Some(last) = self.codes_sent.iter().max().filter(|_| resend) {
            let wait = last + CODE_RESEND_SECS - now;
            if wait > 0 {
                return Err(wait);
            }
        }
        let recent: Vec<i64> = self
            .codes_sent
            .iter()
            .copied()
            .filter(|t| now - t < 3600)
            .collect();
        if recent.len() >= CODES_PER_HOUR {
            let oldest = recent.iter().min().copied().unwrap_or(now);
            return Err((oldest + 3600 - now).max(1));
        }
        Ok(())
    }

    /// Records a code sent at `now` whose keyed hash is `hash`.
    pub fn code_sent(&mut self, purpose: Purpose, hash: String, now: i64) {
        self.code = Some(PendingCode {
            purpose,
            hash,
            expires_at: now + CODE_TTL_SECS,
            attempts: 0,
        });
        self.codes_sent.push(now);
        self.codes_sent.sort_unstable();
        let excess = self.codes_sent.len().saturating_sub(CODES_PER_HOUR);
        self.codes_sent.drain(..excess);
    }

    /// Checks a typed code against the pending one (`matches` compares keyed hashes in
    /// constant time). A success consumes the code; a failure counts an attempt.
    pub fn try_code(
        &mut self,
        purpose: Purpose,
        now: i64,
        matches: impl FnOnce(&str) -> bool,
    ) -> CodeCheck {
        let Some(code) = self.code.as_mut().filter(|c| c.purpose == purpose) else {
            return CodeCheck::NoneSent;
        };
        if now >= code.expires_at {
            self.code = None;
            return CodeCheck::Expired;
        }
        if code.attempts >= CODE_MAX_ATTEMPTS {
            self.code = None;
            return CodeCheck::TooManyAttempts;
        }
        if matches(&code.hash) {
            self.code = None;
            return CodeCheck::Accepted;
        }
        code.attempts += 1;
        if code.attempts >= CODE_MAX_ATTEMPTS {
            self.code = None;
            return CodeCheck::TooManyAttempts;
        }
        CodeCheck::Wrong {
            left: CODE_MAX_ATTEMPTS - code.attempts,
        }
    }
}

/// The outcome of a typed code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    Accepted,
    Wrong {
        left: u32,
    },
    /// That was the last try: a new code must be asked for.
    TooManyAttempts,
    Expired,
    NoneSent,
}

/// A code typed by a person: exactly [`CODE_DIGITS`] digits once spaces are taken out.
pub fn normalise_code(typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == CODE_DIGITS as usize && digits.chars().all(|c| c.is_ascii_digit()))
        .then_some(digits)
}

/// `consensi[].tipo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsentKind {
    Informativa,
    Mandato,
}

/// `consensi[].metodo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentMethod {
    /// Read or accepted on the page by a person who proved their address with a code (for the
    /// mandate: a *firma elettronica semplice*).
    CodiceEmail,
    /// A hand-signed copy uploaded.
    DocumentoFirmato,
}

/// What the person agreed to, as a request records it (nothing personal: the provider, the
/// text's version and hash, how, when).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub tipo: ConsentKind,
    pub fornitore: String,
    pub versione: i64,
    pub sha256_testo: String,
    pub metodo: ConsentMethod,
    pub timestamp: i64,
}

/// A codice fiscale as a page shows it: the first six and the last character, the rest hidden
/// (`RSSMRA•••••••••O`). Anything shorter than eight characters is hidden whole.
pub fn mask_codice_fiscale(code: &str) -> String {
    let chars: Vec<char> = code.trim().chars().collect();
    if chars.len() < 8 {
        return "•".repeat(chars.len().max(1));
    }
    let mut out: String = chars[..6].iter().collect();
    out.push_str(&"•".repeat(chars.len() - 7));
    out.push(chars[chars.len() - 1]);
    out
}

/// An e-mail address as a page or a record shows it: the first character of the local part and
/// the domain (`m•••@example.com`).
pub fn mask_email(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}•••@{domain}")
        }
        None => "•••".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitation(now: i64) -> Invitation {
        Invitation {
            id: "inv_1".into(),
            email: "persona@example.invalid".into(),
            consegna: Consegna::Email,
            messaggio: None,
            scadenza: now + 7 * 86_400,
            risultato_visibile: false,
            stato: State::Inviato,
            timestamp_stati: BTreeMap::from([("inviato".to_string(), now)]),
            code: None,
            codes_sent: Vec::new(),
            session: None,
            acceptance: None,
            informativa_at: None,
            prefilled: Vec::new(),
        }
    }

    #[test]
    fn a_code_allows_five_tries_then_must_be_asked_again() {
        let mut inv = invitation(0);
        inv.code_sent(Purpose::Accesso, "h".into(), 0);
        for left in (1..CODE_MAX_ATTEMPTS).rev() {
            assert_eq!(
                inv.try_code(Purpose::Accesso, 1, |_| false),
                CodeCheck::Wrong { left }
            );
        }
        assert_eq!(
            inv.try_code(Purpose::Accesso, 1, |_| false),
            CodeCheck::TooManyAttempts
        );
        // Even the right code is refused now: the pending one is gone.
        assert_eq!(
            inv.try_code(Purpose::Accesso, 1, |_| true),
            CodeCheck::NoneSent
        );
    }

    #[test]
    fn a_code_expires_after_ten_minutes_and_serves_one_purpose_once() {
        let mut inv = invitation(0);
        inv.code_sent(Purpose::Accesso, "h".into(), 100);
        assert_eq!(
            inv.try_code(Purpose::Mandato, 101, |_| true),
            CodeCheck::NoneSent
        );
        assert_eq!(
            inv.try_code(Purpose::Accesso, 100 + CODE_TTL_SECS, |_| true),
            CodeCheck::Expired
        );
        inv.code_sent(Purpose::Accesso, "h".into(), 1000);
        assert_eq!(
            inv.try_code(Purpose::Accesso, 1000 + CODE_TTL_SECS - 1, |h| h == "h"),
            CodeCheck::Accepted
        );
        assert_eq!(
            inv.try_code(Purpose::Accesso, 1001, |_| true),
            CodeCheck::NoneSent
        );
    }

    #[test]
    fn codes_are_limited_to_one_a_minute_and_five_an_hour() {
        let mut inv = invitation(0);
        assert_eq!(inv.may_send_code(Purpose::Accesso, 0), Ok(()));
        inv.code_sent(Purpose::Accesso, "h".into(), 0);
        assert_eq!(inv.may_send_code(Purpose::Accesso, 30), Err(30));
        let mut t = 0;
        for _ in 1..CODES_PER_HOUR {
            t += CODE_RESEND_SECS;
            assert_eq!(inv.may_send_code(Purpose::Accesso, t), Ok(()));
            inv.code_sent(Purpose::Accesso, "h".into(), t);
        }
        t += CODE_RESEND_SECS;
        assert_eq!(inv.may_send_code(Purpose::Accesso, t), Err(3600 - t));
        assert_eq!(inv.may_send_code(Purpose::Accesso, 3600), Ok(()));
        assert_eq!(inv.codes_sent.len(), CODES_PER_HOUR);
    }

    #[test]
    fn the_mandates_code_right_after_the_access_code_is_not_a_resend() {
        let mut inv = invitation(0);
        inv.code_sent(Purpose::Accesso, "h".into(), 0);
        assert_eq!(
            inv.try_code(Purpose::Accesso, 10, |h| h == "h"),
            CodeCheck::Accepted
        );
        assert_eq!(inv.may_send_code(Purpose::Mandato, 20), Ok(()));
        inv.code_sent(Purpose::Mandato, "m".into(), 20);
        // Asking for the mandate's code again is a resend.
        assert_eq!(inv.may_send_code(Purpose::Mandato, 30), Err(50));
        // The hourly limit counts every code.
        for t in [100, 200, 300] {
            inv.code_sent(Purpose::Mandato, "m".into(), t);
        }
        assert_eq!(inv.may_send_code(Purpose::Accesso, 400), Err(3200));
    }

    #[test]
    fn the_link_works_until_its_time_or_a_month_after_the_close() {
        let mut inv = invitation(0);
        let week = 7 * 86_400;
        assert_eq!(inv.access(false, None, 30, week - 1), Ok(()));
        assert_eq!(inv.access(false, None, 30, week), Err(Closed::Expired));
        // Once submitted, the person follows the practice for as long as it is open.
        assert_eq!(inv.access(true, None, 30, 10 * week), Ok(()));
        let closed = 10 * week;
        assert_eq!(
            inv.access(true, Some(closed), 30, closed + 30 * 86_400 - 1),
            Ok(())
        );
        assert_eq!(
            inv.access(true, Some(closed), 30, closed + 30 * 86_400),
            Err(Closed::Expired)
        );
        inv.enter(State::Revocato, 5);
        assert_eq!(inv.access(false, None, 30, 6), Err(Closed::Revoked));
    }

    #[test]
    fn codes_are_six_digits_typed_with_or_without_spaces() {
        assert_eq!(normalise_code(" 123 456 "), Some("123456".into()));
        assert_eq!(normalise_code("12345"), None);
        assert_eq!(normalise_code("12345a"), None);
        assert_eq!(normalise_code("1234567"), None);
    }

    #[test]
    fn a_codice_fiscale_shows_its_first_six_and_last_characters() {
        assert_eq!(mask_codice_fiscale("RSSMRA85T10A562S"), "RSSMRA•••••••••S");
        assert_eq!(mask_codice_fiscale("ABC"), "•••");
        assert_eq!(mask_email("mario.rossi@example.com"), "m•••@example.com");
        assert_eq!(mask_email("x"), "•••");
        assert_eq!(mask_codice_fiscale(""), "•");
    }

    #[test]
    fn the_wire_words_are_the_issues() {
        assert_eq!(
            serde_json::to_string(&ConsentMethod::CodiceEmail).unwrap_or_default(),
            "\"codice_email\""
        );
        assert_eq!(
            serde_json::to_string(&ConsentMethod::DocumentoFirmato).unwrap_or_default(),
            "\"documento_firmato\""
        );
        assert_eq!(
            serde_json::to_string(&State::Completato).unwrap_or_default(),
            "\"completato\""
        );
        for s in [
            State::Inviato,
            State::Aperto,
            State::Completato,
            State::Revocato,
            State::Scaduto,
        ] {
            assert_eq!(
                serde_json::to_string(&s).unwrap_or_default(),
                format!("\"{}\"", s.as_str())
            );
        }
    }
}
