//! Sportello's domain: everything that decides, nothing that does IO.
//!
//! Invariant: this crate knows nothing of HTTP, SQL, files on disk or the clock. Time comes in
//! as arguments; data files are embedded at compile time.

pub mod calendar;
pub mod catalog;
pub mod checklist;
pub mod expression;
pub mod fields;
pub mod form_schema;
pub mod invitation;
pub mod paperwork;
pub mod party;
pub mod persona;
pub mod pricing;
pub mod refusal;
pub mod status;
pub mod submission;
