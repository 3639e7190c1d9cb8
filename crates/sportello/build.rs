//! Stamps the binary with the git commit it was built from, for `sportello --version`.
//!
//! The commit is the only thing this adds to the build: no date, no host, no dirty flag, so two
//! builds of one commit stay identical. Without git (a source tarball, a container build that
//! leaves `.git` out) it is `unknown`, or whatever `SPORTELLO_BUILD_COMMIT` says, which is how a
//! packager that knows the commit passes it in.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SPORTELLO_BUILD_COMMIT");
    let commit = match std::env::var("SPORTELLO_BUILD_COMMIT") {
        Ok(given) if !given.trim().is_empty() => given.trim().to_owned(),
        _ => from_git().unwrap_or_else(|| "unknown".to_owned()),
    };
    println!("cargo:rustc-env=SPORTELLO_COMMIT={commit}");
}

/// The checked-out commit of the repository this workspace is the root of, and the files to
/// watch so a new commit or checkout runs this script again. `None` outside such a repository:
/// a tarball unpacked inside some other repository must not take that one's commit.
fn from_git() -> Option<String> {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    // crates/sportello → the workspace root.
    let workspace = manifest_dir.parent()?.parent()?.canonicalize().ok()?;
    let toplevel = git(&manifest_dir, &["rev-parse", "--show-toplevel"])?;
    if Path::new(&toplevel).canonicalize().ok()? != workspace {
        return None;
    }
    // HEAD names the branch; the branch's ref (loose, or in packed-refs) names the commit. Both
    // paths through --git-path, which knows about worktrees.
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(&manifest_dir, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&manifest_dir, &["rev-parse", "--git-path", &name]) {
            let path = manifest_dir.join(path);
            // A missing file would make cargo run this script on every build; a branch still
            // only in packed-refs gets its loose file on the next commit, in this directory.
            let watch = if path.exists() {
                Some(path.as_path())
            } else {
                path.parent().filter(|dir| dir.is_dir())
            };
            if let Some(watch) = watch {
                println!("cargo:rerun-if-changed={}", watch.display());
            }
        }
    }
    // A fixed length: git's default abbreviation grows with the repository, so two clones of
    // one commit would print different versions.
    git(&manifest_dir, &["rev-parse", "--short=12", "HEAD"])
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}
