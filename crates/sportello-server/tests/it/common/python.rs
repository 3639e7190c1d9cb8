//! The Python that runs the test tools (the SMTP server, …): the one `./test.sh` prepares in
//! `target/test-venv` from `tools/test-requirements.txt`, named by `SPORTELLO_TEST_PYTHON` —
//! never whatever `python3` is on the PATH, whose packages nobody pinned.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// That Python, once `module` is known to import in it. Otherwise the test fails with one line
/// naming what is missing and the command that provides it, not later with a count of e-mails.
pub fn with_module(module: &str) -> PathBuf {
    let Some(python) = std::env::var_os("SPORTELLO_TEST_PYTHON") else {
        panic!(
            "SPORTELLO_TEST_PYTHON is not set, so `{module}` cannot be found: run the tests with \
             ./test.sh (it installs tools/test-requirements.txt in target/test-venv)"
        );
    };
    let imports = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        imports,
        "`{module}` does not import in {}: run ./test.sh, or `{0} -m pip install -r \
         tools/test-requirements.txt`",
        python.to_string_lossy()
    );
    python.into()
}
