//! The store's stories: [`Store`](sportello_store::Store) driven directly, with no server and no
//! HTTP, through every one of its methods, on SQLite and on PostgreSQL. Each story is one
//! `async fn(World)` run once per backend (see `common::stories!`); what comes back is what both
//! backends must answer, so a query rewritten once for both is checked against today's answers.
//!
//! PostgreSQL runs when `SPORTELLO_TEST_POSTGRES` names a server
//! (`postgres://postgres@127.0.0.1:5432`), each story in a fresh schema; without it the
//! PostgreSQL variants say so and pass. `./test.sh` sets it: its PostgreSQL pass runs every
//! `--test it`, this one included.
//!
//! `checklist` fails when a method of the trait has no story: a new method comes with its story.

#[macro_use]
mod common;

mod accounts;
mod audit;
mod backoffice;
mod checklist;
mod keys;
mod ledger;
mod outbox;
mod requests;
mod retention;
mod sla;
