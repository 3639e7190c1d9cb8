//! The records of the back office: admins, login sessions and operators' notes.

/// A person who administers the platform and logs in to the back office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRecord {
    pub id: String,
    pub name: String,
    pub email: String,
    pub disabled: bool,
    pub created_at: i64,
}

/// A back-office login. Only the hash of the session id is kept: a copy of the database opens
/// no session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: String,
    /// `admin:<id>` or `operator:<id>`.
    pub account: String,
    /// The synchronizer token every form of this session must carry.
    pub csrf: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

/// A note an operator leaves on a request for the others; sealed with the request's data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteRecord {
    pub id: String,
    pub request_id: String,
    /// `operator:<id>` or `admin:<id>`.
    pub author: String,
    pub body: String,
    pub created_at: i64,
}

/// A login about to check a password, by the keys the lock-out counts it under. Only hashes:
/// the failed-login table never holds an address, e-mail or IP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAttempt {
    /// The hash of the e-mail address typed (whether or not it has an account).
    pub email_hash: String,
    /// The hash of the caller's network (None: unknown, no per-source limit).
    pub source_hash: Option<String>,
    pub at: i64,
}

/// How many reserved (failed or in-flight) attempts each key may have within the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Attempts at or after this time count.
    pub since: i64,
    /// Per e-mail hash.
    pub per_email: u32,
    /// Per source; 0: no limit.
    pub per_source: u32,
}

/// What [`Store::reserve_login`](crate::Store::reserve_login) decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginReservation {
    /// The attempt is recorded as a failure (by this id) until it succeeds: check the password.
    Reserved(i64),
    /// The source has used up its attempts: nothing was recorded.
    SourceLocked,
    /// The e-mail hash has used up its attempts: nothing was recorded.
    EmailLocked,
}
