//! Build script: records the git commit the binary is built from (for run manifests and
//! `--version`).
use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SSTC_GIT_COMMIT={commit}");
    let version = std::env::var("CARGO_PKG_VERSION").expect("cargo sets the version");
    println!("cargo:rustc-env=SSTC_VERSION={version} (commit {})", &commit[..commit.len().min(12)]);
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}
