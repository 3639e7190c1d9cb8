//! The integration tests of `sportello-domain`, linked into one binary: each file is a module.

mod calendar;
mod catalog;
mod checklist;
mod codice_fiscale_oracle;
