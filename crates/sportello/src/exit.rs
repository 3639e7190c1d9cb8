//! Exit codes by class, so a script or a monitoring job can tell a mistake in the command from
//! a problem a check found and from a database that is down, without reading the message.

use sportello_store::StoreError;

/// Shown under `sportello --help`; the README's *Operations* says the same.
pub const HELP: &str = "\
Exit codes:
  0  success
  1  usage or configuration error (a bad flag, a bad setting, something that does not exist)
  2  a check found a problem (`ledger verify`, `audit verify`, `catalog check`)
  3  the database or the file store cannot be reached";

/// Why a command failed; the discriminant is the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Usage = 1,
    Problem = 2,
    Unreachable = 3,
}

impl Class {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// An error whose class was decided where it happened (a check that found a problem).
#[derive(Debug)]
pub struct Classified {
    class: Class,
    error: anyhow::Error,
}

impl std::fmt::Display for Classified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for Classified {}

/// A problem a check found: exit code 2.
pub fn problem(error: impl Into<anyhow::Error>) -> anyhow::Error {
    anyhow::Error::new(Classified {
        class: Class::Problem,
        error: error.into(),
    })
}

/// The class of a failed command: as classified where it happened, else "cannot reach" when a
/// store error on the way says so, else a usage or configuration error.
pub fn class_of(error: &anyhow::Error) -> Class {
    if let Some(c) = error.chain().find_map(|c| c.downcast_ref::<Classified>()) {
        return c.class;
    }
    let unreachable = error.chain().any(|cause| {
        cause
            .downcast_ref::<StoreError>()
            .is_some_and(StoreError::is_unreachable)
    });
    if unreachable {
        Class::Unreachable
    } else {
        Class::Usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn classes_survive_context() {
        let e = Err::<(), _>(problem(anyhow::anyhow!("the ledger does not balance")))
            .context("ledger verify")
            .expect_err("an error");
        assert_eq!(class_of(&e), Class::Problem);
        assert_eq!(
            class_of(&problem(anyhow::anyhow!("broken"))),
            Class::Problem
        );
        let refused = StoreError::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let e = Err::<(), _>(refused)
            .context("opening the database")
            .expect_err("an error");
        assert_eq!(class_of(&e), Class::Unreachable);
        assert_eq!(
            class_of(&anyhow::anyhow!("no client with id x")),
            Class::Usage
        );
        assert_eq!(problem(anyhow::anyhow!("a: b")).to_string(), "a: b");
    }
}
