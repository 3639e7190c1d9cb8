//! The integration tests of `sportello`, linked into one binary: each file is a module.
//! One binary instead of one per file keeps CI's link time and disk use small.

mod access_log;
mod audit;
mod bench;
mod calendar;
mod cli;
mod cluster;
mod common;
mod config;
mod deploy;
mod durability;
mod examples;
mod exit_codes;
mod export;
mod help;
mod master_key;
mod money;
mod purge;
mod release;
mod shutdown;
mod storage_s3;
mod webhooks;
