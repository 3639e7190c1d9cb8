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
