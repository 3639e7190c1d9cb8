//! Back-office accounts: login with lock-out, sessions with idle and absolute expiry, the CSRF
//! token of each session, and the first admin of a new installation. Passwords are hashed by
//! [`super::passwords`], off the async workers.
//!
//! Never logs or returns a password, a session id or an e-mail address in an error.

use rand::RngCore;
use sportello_store::{
    ids, AdminRecord, LoginAttempt, LoginLimits, LoginReservation, OperatorRecord, ProviderRecord,
    SessionRecord, StoreError,
};

use crate::state::AppState;

/// Lock-out: this many failures within the window lock the e-mail address for the window
/// (an address with no account too, so the answers do not tell which exist). Failures from one
/// source are limited too, by `Limits::login_failures_per_source` in the same window.
pub const MAX_FAILURES: u32 = 5;
pub const FAILURE_WINDOW_SECS: i64 = 15 * 60;
/// A session unused this long ends.
pub const IDLE_SECS: i64 = 30 * 60;
/// A session ends this long after the login, used or not.
pub const ABSOLUTE_SECS: i64 = 12 * 60 * 60;
/// Shortest password an admin may set.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Who is logged in.
#[derive(Debug, Clone)]
pub enum Account {
    Admin(AdminRecord),
    /// The provider boxed: its party data would make every `Account` as large.
    Operator(OperatorRecord, Box<ProviderRecord>),
}

impl Account {
    /// How sessions, passwords and the audit trail name the account.
    pub fn key(&self) -> String {
        match self {
            Account::Admin(a) => admin_key(&a.id),
            Account::Operator(o, _) => operator_key(&o.id),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Account::Admin(a) => &a.name,
            Account::Operator(o, _) => &o.name,
        }
    }
}

pub fn admin_key(id: &str) -> String {
    format!("admin:{id}")
}

pub fn operator_key(id: &str) -> String {
    format!("operator:{id}")
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown e-mail, wrong password or disabled account: the same answer for all three, so
    /// the form does not tell which addresses exist.
    #[error("wrong credentials")]
    WrongCredentials,
    /// The e-mail address has had too many failures; only the password with a second-factor
    /// code gets through.
    #[error("too many failed attempts")]
    LockedOut,
    /// The caller's network has had too many failures, whatever the address.
    #[error("too many failed attempts from this source")]
    SourceLockedOut,
    /// The password was right but the TOTP code missing or wrong (counts as a failure).
    #[error("second factor required")]
    SecondFactor,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("no such account")]
    NoSuchAccount,
    #[error("password hashing failed")]
    Hashing,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new session: the id goes into the cookie and is never stored.
pub struct NewSession {
    pub id: String,
    pub record: SessionRecord,
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// A password a human can type from the terminal: 20 characters from an unambiguous alphabet
/// (about 110 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..20)
        .map(|_| {
            let i = (rng.next_u32() as usize) % ALPHABET.len();
            char::from(ALPHABET[i])
        })
        .collect()
}

/// The lock-out counts failures per address without keeping the address itself.
fn email_hash(email: &str) -> String {
    ids::secret_hash(&email.trim().to_lowercase())
}

/// The network a login comes from, as the lock-out counts it: an IPv4 address, or the /64 of
/// an IPv6 one (a subscriber picks any address in its /64, RFC 6177), hashed.
fn source_hash(source: &str) -> String {
    let network = match source
        .parse::<std::net::IpAddr>()
        .map(|ip| ip.to_canonical())
    {
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(v4) => v4.to_string(),
        Err(_) => source.to_string(),
    };
    ids::secret_hash(&format!("source {network}"))
}

/// Sets (or resets) the password of an account (`admin:<id>` / `operator:<id>`) and ends its
/// sessions.
pub async fn set_password(
    state: &AppState,
    account: &str,
    password: &str,
) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    let known = match account.split_once(':') {
        Some(("admin", id)) => state.store.get_admin(id).await?.is_some(),
        Some(("operator", id)) => state.store.get_operator(id).await?.is_some(),
        _ => false,
    };
    if !known {
        return Err(PasswordError::NoSuchAccount);
    }
    let phc = super::passwords::hash(password)
        .await
        .ok_or(PasswordError::Hashing)?;
    state
        .store
        .set_password(account, &phc, state.clock.now())
        .await?;
    state.store.delete_sessions(account).await?;
    Ok(())
}

/// The account an e-mail address logs in to: an admin first, else an enabled operator.
async fn find_account(state: &AppState, email: &str) -> Result<Option<Account>, StoreError> {
    if let Some(admin) = state.store.find_admin_by_email(email).await? {
        return Ok((!admin.disabled).then_some(Account::Admin(admin)));
    }
    for op in state.store.find_operators_by_email(email).await? {
        if op.disabled {
            continue;
        }
        if let Some(provider) = state.store.get_provider(&op.provider_id).await? {
            return Ok(Some(Account::Operator(op, Box::new(provider))));
        }
    }
    Ok(None)
}

/// Checks the credentials (and the TOTP code, when the account has enabled it) and opens a
/// session.
///
/// The attempt is reserved in the store before the password is hashed, so parallel guesses
/// count against each other: of any number sent at once, at most [`MAX_FAILURES`] per address
/// are checked. An address with no account is reserved, hashed (against a dummy) and locked
/// exactly like one that has. A locked address still lets in its owner with the password and
/// a valid, unused TOTP code (see `through_the_lock`), so guessing at an administrator's
/// address cannot keep them out.
pub async fn login(
    state: &AppState,
    email: &str,
    password: &str,
    code: Option<&str>,
    source: Option<String>,
) -> Result<(NewSession, Account), LoginError> {
    let now = state.clock.now();
    let attempt = LoginAttempt {
        email_hash: email_hash(email),
        source_hash: source.as_deref().map(source_hash),
        at: now,
    };
    let limits = LoginLimits {
        since: now - FAILURE_WINDOW_SECS,
        per_email: MAX_FAILURES,
        per_source: state.limits.login_failures_per_source,
    };
    let reserved = match state.store.reserve_login(&attempt, &limits).await? {
        LoginReservation::Reserved(id) => id,
        LoginReservation::SourceLocked => return Err(LoginError::SourceLockedOut),
        LoginReservation::EmailLocked => {
            return through_the_lock(state, &attempt, email, password, code, source).await
        }
    };
    // From here on the reservation is the failure, unless the login succeeds.
    let account = find_account(state, email).await?;
    let phc = match &account {
        Some(a) => state.store.password(&a.key()).await?,
        None => None,
    };
    let ok = super::passwords::verify(password, phc).await;
    let Some(account) = account.filter(|_| ok) else {
        return Err(LoginError::WrongCredentials);
    };
    if !super::totp::satisfied(state, &account.key(), code).await? {
        return Err(LoginError::SecondFactor);
    }
    state
        .store
        .login_succeeded(Some(reserved), &attempt.email_hash)
        .await?;
    open_session(state, account, source).await
}

/// A locked address: only the password together with a second-factor code gets in. The code
/// is checked first, and used up, so a guess costs no hash unless it carries a right code never
/// used before (at most one per 30-second step); every refusal is the lock's, the same for an
/// address with or without an account or a factor.
async fn through_the_lock(
    state: &AppState,
    attempt: &LoginAttempt,
    email: &str,
    password: &str,
    code: Option<&str>,
    source: Option<String>,
) -> Result<(NewSession, Account), LoginError> {
    let Some(code) = code else {
        return Err(LoginError::LockedOut);
    };
    let Some(account) = find_account(state, email).await? else {
        return Err(LoginError::LockedOut);
    };
    if !super::totp::proves(state, &account.key(), code).await? {
        return Err(LoginError::LockedOut);
    }
    let phc = state.store.password(&account.key()).await?;
    if !super::passwords::verify(password, phc).await {
        return Err(LoginError::LockedOut);
    }
    state
        .store
        .login_succeeded(None, &attempt.email_hash)
        .await?;
    open_session(state, account, source).await
}

async fn open_session(
    state: &AppState,
    account: Account,
    source: Option<String>,
) -> Result<(NewSession, Account), LoginError> {
    let now = state.clock.now();
    let id = random_hex(32);
    let record = SessionRecord {
        id_hash: ids::secret_hash(&id),
        account: account.key(),
        csrf: random_hex(32),
        created_at: now,
        last_seen_at: now,
    };
    state.store.create_session(&record).await?;
    record_event(state, &account.key(), "login", source).await?;
    Ok((NewSession { id, record }, account))
}

/// Deletes what has expired but was never asked for again: sessions past their idle or
/// absolute limit (a session is otherwise deleted only when presented) and failed logins older
/// than the lock-out window (they no longer count). Returns (sessions, failures) deleted.
pub async fn forget_expired(state: &AppState) -> Result<(u64, u64), StoreError> {
    let now = state.clock.now();
    // The same limits as `resume`: expired at IDLE_SECS / ABSOLUTE_SECS exactly.
    let sessions = state
        .store
        .delete_expired_sessions(now - IDLE_SECS, now - ABSOLUTE_SECS)
        .await?;
    let failures = state
        .store
        .delete_login_failures_before(now - FAILURE_WINDOW_SECS)
        .await?;
    Ok((sessions, failures))
}

/// The live session with this id and its account; an expired session is deleted and absent.
pub async fn resume(
    state: &AppState,
    session_id: &str,
) -> Result<Option<(SessionRecord, Account)>, StoreError> {
    let hash = ids::secret_hash(session_id);
    let Some(session) = state.store.session(&hash).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    if now - session.last_seen_at >= IDLE_SECS || now - session.created_at >= ABSOLUTE_SECS {
        state.store.delete_session(&hash).await?;
        return Ok(None);
    }
    let account = match session.account.split_once(':') {
        Some(("admin", id)) => state
            .store
            .get_admin(id)
            .await?
            .filter(|a| !a.disabled)
            .map(Account::Admin),
        Some(("operator", id)) => match state.store.get_operator(id).await?.filter(|o| !o.disabled)
        {
            Some(op) => state
                .store
                .get_provider(&op.provider_id)
                .await?
                .map(|p| Account::Operator(op, Box::new(p))),
            None => None,
        },
        _ => None,
    };
    let Some(account) = account else {
        state.store.delete_session(&hash).await?;
        return Ok(None);
    };
    state.store.touch_session(&hash, now).await?;
    Ok(Some((session, account)))
}

pub async fn logout(
    state: &AppState,
    session: &SessionRecord,
    source: Option<String>,
) -> Result<(), StoreError> {
    state.store.delete_session(&session.id_hash).await?;
    record_event(state, &session.account, "logout", source).await
}

/// Logins and logouts go into the audit trail (no request, no address typed: only the account).
async fn record_event(
    state: &AppState,
    account: &str,
    action: &str,
    source: Option<String>,
) -> Result<(), StoreError> {
    state
        .store
        .audit(&sportello_store::audit::AuditEvent {
            at: state.clock.now(),
            actor: account.to_string(),
            action: action.to_string(),
            request_id: None,
            detail: String::new(),
            source,
        })
        .await
        .map(|_| ())
}

pub async fn create_admin(
    state: &AppState,
    name: &str,
    email: &str,
) -> Result<AdminRecord, StoreError> {
    let admin = AdminRecord {
        id: ids::short_id("adm"),
        name: name.to_string(),
        email: email.trim().to_string(),
        disabled: false,
        created_at: state.clock.now(),
    };
    state.store.create_admin(&admin).await?;
    Ok(admin)
}

/// The first admin of a new installation, with a generated password shown once.
pub struct FirstAdmin {
    pub admin: AdminRecord,
    pub password: String,
}

/// With no admin yet: creates `admin@localhost` with a generated password.
pub async fn bootstrap_admin(state: &AppState) -> Result<Option<FirstAdmin>, PasswordError> {
    if !state.store.list_admins().await?.is_empty() {
        return Ok(None);
    }
    let admin = create_admin(state, "Amministratore", "admin@localhost").await?;
    let password = generate_password();
    set_password(state, &admin_key(&admin.id), &password).await?;
    Ok(Some(FirstAdmin { admin, password }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_enough() {
        let p = generate_password();
        assert!(p.chars().count() >= MIN_PASSWORD_CHARS);
        assert_ne!(p, generate_password());
    }

    #[test]
    fn an_ipv6_source_is_its_64_and_a_mapped_ipv4_its_ipv4() {
        assert_eq!(
            source_hash("2001:db8:1:2:aaaa::1"),
            source_hash("2001:db8:1:2:ffff::9")
        );
        assert_ne!(
            source_hash("2001:db8:1:2::1"),
            source_hash("2001:db8:1:3::1")
        );
        assert_eq!(source_hash("::ffff:192.0.2.1"), source_hash("192.0.2.1"));
        assert_ne!(source_hash("192.0.2.1"), source_hash("192.0.2.2"));
    }
}
