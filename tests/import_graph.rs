//! No import circles among the modules of the `cafix` library (src/) and of
//! each shim crate (shim/common, shim/engine, shim/preload).
//!
//! An edge A → B is a `use` of B from A (`use crate::…`, `use super::…`,
//! `use self::…`, or a `use` of a child module by its name), or a path into
//! B written in A's code (`crate::b::f()`, `super::b::T`, `child::f()`). A
//! path counts for the deepest module it names. A module's edges to itself
//! and to its own ancestors are not counted: a submodule is part of its
//! parent (`use super::*` in `mod tests`, a file of a module split in
//! several reading the types its `mod.rs` defines). A circle is then a set
//! of modules that reach each other through such edges, such as
//! `doctor → doctor_ca → root_stores → doctor`: the failure names it, with
//! the line that makes each edge.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// A module's path below its crate root (`["cli", "doctor"]`; the root is `[]`).
type ModPath = Vec<String>;

/// Where an edge comes from: `src/cli/doctor/mod.rs:12`.
type Origin = String;

/// Edges of one crate: from → to → the first line that makes the edge.
type Graph = BTreeMap<ModPath, BTreeMap<ModPath, Origin>>;

// ---- Tokens ------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// The tokens of Rust source that paths are made of, with their line numbers:
/// comments, string, byte-string, raw-string and character literals are
/// skipped (a lifetime is not a character literal).
fn tokens(src: &str) -> Vec<(Tok, usize)> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    let ident_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    // Skips to after the closing `"` (with `hashes` #s) of a string starting at `j`.
    let skip_string = |mut j: usize, hashes: usize, raw: bool, line: &mut usize| -> usize {
        while j < b.len() {
            match b[j] {
                b'\\' if !raw => {
                    j += 1;
                    *line += usize::from(b.get(j) == Some(&b'\n'));
                }
                b'\n' => *line += 1,
                b'"' if b[j + 1..].iter().take(hashes).filter(|&&c| c == b'#').count() == hashes => {
                    return j + 1 + hashes;
                }
                _ => {}
            }
            j += 1;
        }
        j
    };
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line += 1;
            i += 1;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(b[i] == b'\n');
                    i += 1;
                }
            }
        } else if c == b'"' {
            i = skip_string(i + 1, 0, false, &mut line);
        } else if c == b'\'' {
            // 'a' '\n' '\'' '\u{1F600}' are literals; 'a (a lifetime) is not.
            let close = if b.get(i + 1) == Some(&b'\\') {
                // `\'`, `\n`, `\u{…}`: the closing quote comes after the escape's second character.
                b.get(i + 3..)
                    .and_then(|rest| rest.iter().position(|&c| c == b'\''))
                    .map(|p| i + 3 + p)
            } else {
                let len = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + len) == Some(&b'\'')).then_some(i + 1 + len)
            };
            match close {
                Some(end) => i = end + 1,
                None => i += 1,
            }
        } else if ident_char(c) {
            let start = i;
            while i < b.len() && ident_char(b[i]) {
                i += 1;
            }
            let word = &src[start..i];
            // b"…", r"…", r#"…"#, br#"…"#, b'…'
            let raw = word == "r" || word == "br";
            if (raw || word == "b") && i < b.len() && (b[i] == b'"' || (raw && b[i] == b'#')) {
                let hashes = b[i..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + hashes) == Some(&b'"') {
                    i = skip_string(i + hashes + 1, hashes, raw, &mut line);
                    continue;
                }
            }
            if word == "b" && b.get(i) == Some(&b'\'') {
                continue; // the character literal is skipped next
            }
            if !c.is_ascii_digit() {
                out.push((Tok::Ident(word.to_string()), line));
            }
        } else if b[i..].starts_with(b"::") {
            out.push((Tok::PathSep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(c as char), line));
            i += 1;
        }
    }
    out
}

// ---- Paths a module names --------------------------------------------------------

/// A path a module names, as written, in the module it is written in.
#[derive(Debug, Clone, PartialEq)]
struct Mention {
    /// The module the path is written in (inline modules included).
    within: ModPath,
    path: Vec<String>,
    line: usize,
}

/// Every `use` path (use trees expanded) and every path that starts with
/// `crate`, `super`, `self` or a name followed by `::` in code, with the
/// inline module (`mod tests { … }`) it is written in.
fn mentions(module: &[String], src: &str) -> (Vec<Mention>, BTreeSet<ModPath>) {
    let toks = tokens(src);
    let mut out = Vec::new();
    let mut inline = BTreeSet::new();
    // Inline modules open: their path and the brace depth inside them.
    let mut stack: Vec<(ModPath, usize)> = vec![(module.to_vec(), 0)];
    let mut depth = 0usize;
    let mut i = 0;
    let ident = |k: usize| match toks.get(k) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    while i < toks.len() {
        let within = stack.last().unwrap().0.clone();
        let line = toks[i].1;
        match &toks[i].0 {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if stack.len() > 1 && stack.last().unwrap().1 == depth {
                    stack.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(w) if w == "mod" && toks.get(i + 2).map(|t| &t.0) == Some(&Tok::Punct('{')) => {
                if let Some(name) = ident(i + 1) {
                    let mut path = within.clone();
                    path.push(name.to_string());
                    inline.insert(path.clone());
                    depth += 1;
                    stack.push((path, depth));
                    i += 3;
                    continue;
                }
            }
            Tok::Ident(w) if w == "use" => {
                let end = (i..toks.len())
                    .find(|&k| toks[k].0 == Tok::Punct(';'))
                    .unwrap_or(toks.len());
                for path in use_paths(&toks[i + 1..end]) {
                    out.push(Mention {
                        within: within.clone(),
                        path,
                        line,
                    });
                }
                i = end + 1;
                continue;
            }
            Tok::Ident(w) if toks.get(i + 1).map(|t| &t.0) == Some(&Tok::PathSep) => {
                let after_sep = i > 0 && toks[i - 1].0 == Tok::PathSep;
                let macro_var = i > 0 && toks[i - 1].0 == Tok::Punct('$');
                let visibility = i > 0 && ident(i - 1) == Some("in"); // pub(in crate::cli)
                if !after_sep && !macro_var && !visibility {
                    let mut path = vec![w.clone()];
                    let mut k = i + 1;
                    while toks.get(k).map(|t| &t.0) == Some(&Tok::PathSep) {
                        match ident(k + 1) {
                            Some(next) => path.push(next.to_string()),
                            None => break,
                        }
                        k += 2;
                    }
                    out.push(Mention { within, path, line });
                    i = k;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    (out, inline)
}

/// The paths of a use tree (`a::{b, c::{self, d as e}, *}` → `a::b`,
/// `a::c::self`, `a::c::d`, `a::*`), `pub(…)` and a leading `::` aside.
fn use_paths(toks: &[(Tok, usize)]) -> Vec<Vec<String>> {
    fn tree(toks: &[(Tok, usize)], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        while *i < toks.len() {
            match &toks[*i].0 {
                Tok::Ident(w) if w == "as" => *i += 2, // the alias
                Tok::Ident(w) => {
                    path.push(w.clone());
                    *i += 1;
                }
                Tok::Punct('*') => {
                    path.push("*".to_string());
                    *i += 1;
                }
                Tok::PathSep => *i += 1,
                Tok::Punct('{') => {
                    *i += 1;
                    loop {
                        tree(toks, i, &path, out);
                        match toks.get(*i).map(|t| &t.0) {
                            Some(Tok::Punct(',')) => *i += 1,
                            Some(Tok::Punct('}')) => {
                                *i += 1;
                                return;
                            }
                            _ => return,
                        }
                        if toks.get(*i).map(|t| &t.0) == Some(&Tok::Punct('}')) {
                            *i += 1;
                            return;
                        }
                    }
                }
                _ => break, // `,` or `}` ends this branch
            }
        }
        if path.len() > prefix.len() {
            out.push(path);
        }
    }
    let mut start = 0;
    if toks.first().map(|t| &t.0) == Some(&Tok::Punct('(')) {
        // `use` never takes parentheses; this is a stray match: nothing.
        return Vec::new();
    }
    while toks.get(start).map(|t| &t.0) == Some(&Tok::PathSep) {
        start += 1;
    }
    let mut out = Vec::new();
    let mut i = start;
    tree(toks, &mut i, &[], &mut out);
    out
}

/// The module a path written in `within` names: the deepest known module
/// along it, or `None` for paths outside the crate (`std::…`, other crates,
/// a local type's associated item).
fn resolve(within: &[String], path: &[String], modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    let (mut base, rest): (ModPath, &[String]) = match path.first()?.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (within.to_vec(), &path[1..]),
        "super" => {
            let supers = path.iter().take_while(|s| *s == "super").count();
            if supers > within.len() {
                return None;
            }
            (within[..within.len() - supers].to_vec(), &path[supers..])
        }
        first => {
            let mut child = within.to_vec();
            child.push(first.to_string());
            if !modules.contains(&child) {
                return None;
            }
            (within.to_vec(), path)
        }
    };
    for segment in rest {
        base.push(segment.clone());
        if !modules.contains(&base) {
            base.pop();
            break;
        }
    }
    Some(base)
}

/// The module path of a source file of a crate whose root is `src_dir`.
fn module_of(src_dir: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src_dir).unwrap().with_extension("");
    let mut parts: ModPath = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("lib" | "mod")) {
        parts.pop();
    }
    parts
}

/// The graph of one crate from its files (path for messages, module, text).
fn graph(files: &[(String, ModPath, String)]) -> Graph {
    let mut modules: BTreeSet<ModPath> = files.iter().map(|(_, m, _)| m.clone()).collect();
    let mut found = Vec::new();
    for (name, module, src) in files {
        let (m, inline) = mentions(module, src);
        modules.extend(inline);
        found.push((name, m));
    }
    let mut g = Graph::new();
    for (name, list) in found {
        for m in list {
            g.entry(m.within.clone()).or_default();
            let Some(target) = resolve(&m.within, &m.path, &modules) else {
                continue;
            };
            let ancestor_or_self = m.within.starts_with(&target);
            if !ancestor_or_self {
                let origin = format!("{name}:{} ({})", m.line, m.path.join("::"));
                g.entry(m.within).or_default().entry(target).or_insert(origin);
            }
        }
    }
    g
}

/// The files of the crate whose root module is in `root`/`krate`.
fn crate_files(root: &Path, krate: &str) -> Vec<(String, ModPath, String)> {
    let dir = root.join(krate);
    fn walk(d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files.sort();
    files
        .into_iter()
        // src/main.rs is the `cafix` binary, a crate of its own that uses the library by name.
        .filter(|f| f.file_name().is_some_and(|n| n != "main.rs"))
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let shown = f.strip_prefix(root).unwrap_or(&f).display().to_string();
            (shown, module_of(&dir, &f), text)
        })
        .collect()
}

// ---- Circles ---------------------------------------------------------------------

fn name(m: &ModPath) -> String {
    if m.is_empty() {
        "crate".to_string()
    } else {
        m.join("::")
    }
}

/// Every circle, one per set of modules that reach each other (a strongly
/// connected component of more than one module), as the shortest way round
/// from its first module: `a -> b -> a`, each edge with the line making it,
/// and the whole set when it is larger.
fn circles(g: &Graph) -> Vec<String> {
    let nodes: Vec<&ModPath> = g
        .keys()
        .chain(g.values().flat_map(|e| e.keys()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let reach = |from: &ModPath| -> BTreeSet<ModPath> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for next in g.get(&n).into_iter().flat_map(|e| e.keys()) {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&ModPath, BTreeSet<ModPath>> = nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut done: BTreeSet<ModPath> = BTreeSet::new();
    let mut out = Vec::new();
    for &n in &nodes {
        if done.contains(n) || !reaches[n].contains(n) {
            continue;
        }
        // The component: what n reaches that reaches n back.
        let component: BTreeSet<ModPath> = reaches[n].iter().filter(|m| reaches[*m].contains(n)).cloned().collect();
        done.extend(component.iter().cloned());
        let mut circle = shortest_way_round(g, n, &component);
        if component.len() > 2 {
            let all: Vec<String> = component.iter().map(name).collect();
            circle.push_str(&format!("\n  (these reach each other: {})", all.join(", ")));
        }
        out.push(circle);
    }
    out
}

fn shortest_way_round(g: &Graph, start: &ModPath, within: &BTreeSet<ModPath>) -> String {
    let mut came_from: BTreeMap<ModPath, ModPath> = BTreeMap::new();
    let mut queue = VecDeque::from([start.clone()]);
    'search: while let Some(n) = queue.pop_front() {
        for next in g.get(&n).into_iter().flat_map(|e| e.keys()) {
            if !within.contains(next) || came_from.contains_key(next) {
                continue;
            }
            came_from.insert(next.clone(), n.clone());
            if next == start {
                break 'search;
            }
            queue.push_back(next.clone());
        }
    }
    let mut way = vec![start.clone()];
    let mut at = came_from[start].clone();
    while &at != start {
        way.push(at.clone());
        at = came_from[&at].clone();
    }
    way.push(start.clone());
    way.reverse();
    let steps: Vec<String> = way
        .windows(2)
        .map(|w| format!("  {} -> {}   [{}]", name(&w[0]), name(&w[1]), g[&w[0]][&w[1]]))
        .collect();
    let names: Vec<String> = way.iter().map(name).collect();
    format!("{}\n{}", names.join(" -> "), steps.join("\n"))
}

// ---- The check -----------------------------------------------------------------------

#[test]
fn no_import_circles_in_the_library_and_the_shim_crates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failures = Vec::new();
    for krate in ["src", "shim/common/src", "shim/engine/src", "shim/preload/src"] {
        let files = crate_files(root, krate);
        assert!(files.len() > 1, "{krate}: no modules found");
        let g = graph(&files);
        let edges: usize = g.values().map(BTreeMap::len).sum();
        // Enough edges that the parser is known to see them (src has well over 100).
        if krate == "src" {
            assert!(edges > 100, "{krate}: only {edges} edges found: is the parser broken?");
        }
        for c in circles(&g) {
            failures.push(format!("{krate}: {c}"));
        }
    }
    assert!(
        failures.is_empty(),
        "import circles (move what both sides need to a module of its own):\n{}",
        failures.join("\n")
    );
}

// ---- The checker checked ------------------------------------------------------------

fn m(path: &str) -> ModPath {
    path.split("::").filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn file(module: &str, src: &str) -> (String, ModPath, String) {
    (format!("{module}.rs"), m(module), src.to_string())
}

fn edges(g: &Graph) -> Vec<String> {
    g.iter()
        .flat_map(|(from, to)| to.keys().map(move |t| format!("{} -> {}", name(from), name(t))))
        .collect()
}

#[test]
fn a_circle_through_three_modules_is_named() {
    let g = graph(&[
        file("", "pub mod cli; pub mod der;"),
        file("cli", "pub mod doctor; pub mod doctor_ca; pub mod root_stores;"),
        file(
            "cli::doctor",
            "use super::doctor_ca;\npub fn run() { doctor_ca::run() }",
        ),
        file("cli::doctor_ca", "use super::root_stores::Section;"),
        file("cli::root_stores", "use super::doctor::{Finding, Severity};"),
        file("der", "use crate::cli::doctor::run; fn f() {}"),
    ]);
    let found = circles(&g);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].ends_with("(these reach each other: cli::doctor, cli::doctor_ca, cli::root_stores)"),
        "{}",
        found[0]
    );
    let first_line = found[0].lines().next().unwrap();
    assert_eq!(
        first_line,
        "cli::doctor -> cli::doctor_ca -> cli::root_stores -> cli::doctor"
    );
    assert!(
        found[0].contains("cli::root_stores -> cli::doctor   [cli::root_stores.rs:1 (super::doctor::Finding)]"),
        "{}",
        found[0]
    );
}

#[test]
fn two_modules_using_each_other_through_paths_in_code() {
    let g = graph(&[
        file("", "mod der_walk; mod subject_hash;"),
        file("der_walk", "fn f() { crate::subject_hash::name_der_hash_strict(x) }"),
        file("subject_hash", "fn g() { let t = crate::der_walk::read(b); }"),
    ]);
    let found = circles(&g);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("der_walk -> subject_hash -> der_walk\n"),
        "{}",
        found[0]
    );
}

#[test]
fn parents_children_and_tests_make_no_circle() {
    let g = graph(&[
        file("", "mod a; mod b;"),
        // The parent uses its child, the child its parent's types.
        file("a", "mod child; use child::Thing; pub struct Kind;"),
        file("a::child", "use super::Kind; pub struct Thing;"),
        file(
            "b",
            "use crate::a::Kind;\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use crate::a::child::Thing;\n}",
        ),
    ]);
    assert_eq!(edges(&g), ["a -> a::child", "b -> a", "b::tests -> a::child"]);
    assert!(circles(&g).is_empty());
}

#[test]
fn literals_comments_and_visibility_are_not_paths() {
    let src = r##"
        // use crate::x;
        /* crate::x::f() /* nested crate::x */ */
        pub(in crate::y) fn f<'a>(s: &'a str) -> char {
            let _ = "crate::x::f()";
            let _ = r#"use crate::x;"#;
            let _ = b"crate::x";
            let _ = '"'; let _ = b'\'';
            crate::z::g();
            '{'
        }
        macro_rules! m { () => { $crate::x::f() }; }
    "##;
    let (found, _) = mentions(&[], src);
    let paths: Vec<String> = found.iter().map(|m| m.path.join("::")).collect();
    assert_eq!(paths, ["crate::z::g"]);
    assert_eq!(found[0].line, 9);
}

#[test]
fn use_trees_are_expanded() {
    let toks = tokens("crate::audit::{self, format_utc as f, x::{A, B,}}");
    let paths: Vec<String> = use_paths(&toks).iter().map(|p| p.join("::")).collect();
    assert_eq!(
        paths,
        [
            "crate::audit::self",
            "crate::audit::format_utc",
            "crate::audit::x::A",
            "crate::audit::x::B"
        ]
    );
    assert_eq!(use_paths(&tokens("::std::io::*")), [m("std::io::*")]);
    let modules: BTreeSet<ModPath> = [m(""), m("audit"), m("cli"), m("cli::doctor"), m("cli::doctor::qt")].into();
    let at = m("cli::doctor::qt");
    assert_eq!(resolve(&at, &m("super::super::hash::x"), &modules), Some(m("cli")));
    assert_eq!(resolve(&at, &m("crate::audit::self"), &modules), Some(m("audit")));
    assert_eq!(resolve(&at, &m("std::fs::read"), &modules), None);
    assert_eq!(
        resolve(&m("cli::doctor"), &m("qt::gather"), &modules),
        Some(m("cli::doctor::qt"))
    );
}
