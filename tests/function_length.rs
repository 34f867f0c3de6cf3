//! No function of the library (src/) or of the shim crates longer than
//! [`MAX_LINES`] lines, signature to closing brace: a function that long
//! does several things that want names of their own (`cafix doctor` was one
//! function of 713 lines). Reads rustfmt's layout: a body closes with a `}`
//! at the indentation of its `fn` line.

use std::path::{Path, PathBuf};

const MAX_LINES: usize = 150;

/// `(first line, length in lines, name)` of every function with a body.
fn functions(src: &str) -> Vec<(usize, usize, String)> {
    let lines: Vec<&str> = src.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = fn_name(line) else { continue };
        let indent = line.len() - line.trim_start().len();
        // The signature ends at the first line ending in `{` (a body) or `;` (none).
        let Some(sig_end) = (i..lines.len()).find(|&k| {
            let t = lines[k].trim_end();
            t.ends_with('{') || t.ends_with(';') || (k == i && t.ends_with('}'))
        }) else {
            continue;
        };
        let t = lines[sig_end].trim_end();
        if t.ends_with(';') {
            continue;
        }
        if t.ends_with('}') {
            out.push((i + 1, 1, name));
            continue;
        }
        let end = (sig_end + 1..lines.len()).find(|&k| {
            let l = lines[k];
            l.len() - l.trim_start().len() == indent && l.trim_start().starts_with('}')
        });
        if let Some(end) = end {
            out.push((i + 1, end - i + 1, name));
        }
    }
    out
}

/// The function a line declares: `pub(crate) unsafe extern "C" fn name<…>(…`.
fn fn_name(line: &str) -> Option<String> {
    let t = line.trim_start();
    if t.starts_with("//") {
        return None;
    }
    let mut words = t.split_whitespace();
    loop {
        let w = words.next()?;
        match w {
            "fn" => break,
            "pub" | "const" | "async" | "unsafe" | "extern" | "default" => {}
            // pub(crate), pub(in crate::cli), extern "C"
            w if w.starts_with("pub(") => {
                if !w.ends_with(')') {
                    words.find(|w| w.ends_with(')'))?;
                }
            }
            w if w.starts_with('"') => {}
            _ => return None,
        }
    }
    let rest = words.next()?;
    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then_some(name)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "target") {
                rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_function_longer_than_150_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "shim/common/src", "shim/engine/src", "shim/preload/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut all = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap();
        let shown = f.strip_prefix(root).unwrap().display().to_string();
        all.extend(
            functions(&src)
                .into_iter()
                .map(|(line, len, name)| (len, format!("{shown}:{line} {name}"))),
        );
    }
    assert!(
        all.len() > 500,
        "only {} functions found: is the reader broken?",
        all.len()
    );
    all.sort_by(|a, b| b.cmp(a));
    let long: Vec<String> = all
        .iter()
        .take_while(|(len, _)| *len > MAX_LINES)
        .map(|(len, at)| format!("  {len} lines: {at}"))
        .collect();
    assert!(
        long.is_empty(),
        "functions longer than {MAX_LINES} lines (split them into steps with names):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_reader_measures_bodies_not_declarations() {
    let src = r#"
pub trait T {
    fn declared(&self) -> u8;
    fn defaulted(&self) -> u8 { 1 }
}

pub(crate) unsafe extern "C" fn multi_line(
    a: u8,
) -> u8
where
    u8: Copy,
{
    let s = "fn inner() {";
    a
}

impl X {
    // fn commented() {
    pub(in crate::cli) fn method(&self) {
        if true {
        }
    }
}
"#;
    let found: Vec<(usize, usize, String)> = functions(src);
    let found: Vec<(usize, usize, &str)> = found.iter().map(|(l, n, s)| (*l, *n, s.as_str())).collect();
    assert_eq!(found, [(4, 1, "defaulted"), (7, 9, "multi_line"), (19, 4, "method")]);
}
