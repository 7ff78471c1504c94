//! Tidy: every source file opens with a `//!` header stating what it does; no debugging
//! leftovers (`dbg!`, `todo!`, `unimplemented!`) are committed; every `unsafe` block says
//! why it is sound in a `// SAFETY:` comment on the line before; every lint `allow` gives
//! its reason (`reason = "..."`).

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_has_a_header_and_no_leftovers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "found the sources");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with("//!"), "{} must start with a //! header", file.display());
        for leftover in [concat!("dbg", "!("), concat!("todo", "!("), concat!("unimplemented", "!(")] {
            assert!(!text.contains(leftover), "{} contains {leftover}", file.display());
        }
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if code.contains(concat!("unsafe", " {")) {
                let before = n.checked_sub(1).map_or("", |p| lines[p]);
                assert!(before.trim_start().starts_with("// SAFETY:"), "{}:{}: an unsafe block without a // SAFETY: comment on the line before", file.display(), n + 1);
            }
            if code.contains(concat!("allow", "(")) && code.trim_start().starts_with('#') {
                assert!(code.contains("reason ="), "{}:{}: a lint allow without its reason = \"...\"", file.display(), n + 1);
            }
        }
    }
}
