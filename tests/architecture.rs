//! The tree as docs/architecture.md draws it: every file under `src/` is
//! named there and every file named there exists; the seam
//! (`src/platform/`) imports only the vocabulary; no module imports a
//! sibling that imports it back; and `src/` names its sources (TCMPP's and
//! WeChat's pages), not documents a reader cannot look up.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `src/`, as a path relative to `src/` with `/`.
fn source_files() -> BTreeSet<String> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
        for entry in fs::read_dir(dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                let relative = path.strip_prefix(base).expect("under src/");
                out.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut files = BTreeSet::new();
    let src = root().join("src");
    walk(&src, &src, &mut files);
    files
}

fn is_file_name(word: &str) -> bool {
    // Rust, Lua scripts, and the playground's page (compiled in).
    [".rs", ".lua", ".html", ".css", ".js"]
        .iter()
        .any(|ext| word.ends_with(ext))
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '*' | '-'))
}

/// The files the layout block of docs/architecture.md names, relative to
/// `src/`. A line's first column (up to two spaces) names files or a
/// folder; a folder's own line and the lines indented under it resolve
/// names against it, and a folder line's description may list its files.
fn documented_files() -> BTreeSet<String> {
    let doc = fs::read_to_string(root().join("docs/architecture.md")).expect("the guide");
    let start = doc
        .find("```text\nsrc/lib.rs")
        .expect("the layout block starts with src/lib.rs");
    let block = &doc[start + "```text\n".len()..];
    let block = &block[..block.find("```").expect("the layout block ends")];
    let mut named = BTreeSet::new();
    // (indent, folder) for the folders above the current line.
    let mut folders: Vec<(usize, String)> = Vec::new();
    // Whether the lines going on below a folder's line still describe it.
    let mut in_folder_description = false;
    let words = |text: &str| -> Vec<String> {
        text.split_whitespace()
            .map(|w| w.trim_matches(|c: char| "(),:;`".contains(c)).to_owned())
            .filter(|w| is_file_name(w))
            .collect()
    };
    for raw in block.lines() {
        if raw.starts_with("bindings/") {
            break; // the other workspace members
        }
        let line: String = raw
            .chars()
            .map(|c| if "│├└─".contains(c) { ' ' } else { c })
            .collect();
        let indent = line.len() - line.trim_start().len();
        let text = line.trim_start();
        // A line indented past the names' columns goes on describing the
        // line above it.
        let (column, description) = match text.find("  ") {
            _ if indent > 16 => ("", text),
            Some(at) => (&text[..at], text[at..].trim()),
            None => (text, ""),
        };
        if column.is_empty() {
            if in_folder_description {
                let folder = folders.last().map(|(_, f)| f.clone()).unwrap_or_default();
                named.extend(
                    words(description)
                        .into_iter()
                        .map(|w| format!("{folder}{w}")),
                );
            }
            continue;
        }
        while folders.last().is_some_and(|(depth, _)| *depth >= indent) {
            folders.pop();
        }
        let prefix = folders.last().map(|(_, f)| f.clone()).unwrap_or_default();
        let tokens: Vec<&str> = column
            .split(' ')
            .map(|t| t.strip_prefix("src/").unwrap_or(t))
            .collect();
        if let Some(folder) = tokens.iter().find(|t| t.ends_with('/')) {
            let folder = format!("{prefix}{folder}");
            named.extend(
                words(description)
                    .into_iter()
                    .map(|w| format!("{folder}{w}")),
            );
            folders.push((indent, folder));
            in_folder_description = true;
        } else {
            in_folder_description = false;
            for token in tokens.into_iter().filter(|t| is_file_name(t)) {
                named.insert(format!("{prefix}{token}"));
            }
        }
    }
    named
}

fn matches(pattern: &str, file: &str) -> bool {
    match pattern.split_once('*') {
        Some((head, tail)) => {
            file.starts_with(head) && file.ends_with(tail) && !file[head.len()..].contains('/')
        }
        None => pattern == file,
    }
}

#[test]
fn the_architecture_guide_names_every_file_under_src_and_no_other() {
    let files = source_files();
    let named = documented_files();
    let missing: Vec<&String> = files
        .iter()
        .filter(|file| !named.iter().any(|pattern| matches(pattern, file)))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md does not name {missing:?}"
    );
    let stale: Vec<&String> = named
        .iter()
        .filter(|pattern| !files.iter().any(|file| matches(pattern, file)))
        .collect();
    assert!(
        stale.is_empty(),
        "docs/architecture.md names files that do not exist: {stale:?}"
    );
}

/// A module's path (`["openserver", "store"]`) for a file under `src/`.
fn module_of(file: &str) -> Vec<String> {
    let stem = file.trim_end_matches(".rs");
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The `use` paths of a file, its test module left out, each as the
/// segments after `crate` (with `super` resolved against `module`).
fn uses(source: &str, module: &[String]) -> Vec<Vec<String>> {
    let source = match source.find("#[cfg(test)]\nmod tests") {
        Some(at) => &source[..at],
        None => source,
    };
    let mut paths = Vec::new();
    for statement in source.split("use ").skip(1) {
        let Some(end) = statement.find(';') else {
            continue;
        };
        let statement = &statement[..end];
        let (base, items) = match statement.find('{') {
            Some(at) => (&statement[..at], &statement[at + 1..]),
            None => (statement, ""),
        };
        let base: Vec<&str> = base
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let mut heads = vec![base.clone()];
        if !items.is_empty() {
            heads = items
                .split(',')
                .map(|item| item.trim().trim_start_matches('{').trim())
                .filter(|item| !item.is_empty())
                .map(|item| {
                    let mut path = base.clone();
                    path.extend(item.split("::").map(str::trim).filter(|s| {
                        !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
                    }));
                    path
                })
                .collect();
        }
        for head in heads {
            let resolved: Option<Vec<String>> = match head.first() {
                Some(&"crate") => Some(head[1..].iter().map(|s| s.to_string()).collect()),
                Some(&"super") => {
                    let mut parent: Vec<String> = module[..module.len().saturating_sub(1)].to_vec();
                    let mut rest = &head[1..];
                    while rest.first() == Some(&"super") {
                        parent.pop();
                        rest = &rest[1..];
                    }
                    parent.extend(rest.iter().map(|s| s.to_string()));
                    Some(parent)
                }
                _ => None,
            };
            paths.extend(resolved);
        }
    }
    paths
}

/// Which modules each module imports (the longest module prefix of each
/// `use` path), for the library's files.
fn import_graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let files: Vec<String> = source_files()
        .into_iter()
        .filter(|f| f.ends_with(".rs") && !f.starts_with("bin/"))
        .collect();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(f)).collect();
    let mut graph = BTreeMap::new();
    for file in &files {
        let module = module_of(file);
        let source = fs::read_to_string(root().join("src").join(file)).expect("a source file");
        let mut imports = BTreeSet::new();
        for path in uses(&source, &module) {
            let target = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|prefix| modules.contains(prefix));
            if let Some(target) = target.filter(|t| *t != module) {
                imports.insert(target);
            }
        }
        graph.insert(module, imports);
    }
    graph
}

#[test]
fn no_module_imports_a_sibling_that_imports_it_back() {
    let graph = import_graph();
    assert!(
        graph.len() > 40,
        "the graph reads the tree: {}",
        graph.len()
    );
    let is_ancestor = |a: &Vec<String>, b: &Vec<String>| b.starts_with(a);
    let mut circles = Vec::new();
    for (module, imports) in &graph {
        for other in imports {
            let back = graph.get(other).is_some_and(|i| i.contains(module));
            if back && module < other && !is_ancestor(module, other) && !is_ancestor(other, module)
            {
                circles.push((module.join("/"), other.join("/")));
            }
        }
    }
    assert!(
        circles.is_empty(),
        "modules importing each other: {circles:?}"
    );
}

#[test]
fn the_platform_seam_imports_only_the_vocabulary() {
    let graph = import_graph();
    let allowed = ["platform", "app", "secret"];
    for (module, imports) in graph
        .iter()
        .filter(|(m, _)| m.first().is_some_and(|s| s == "platform"))
    {
        for import in imports {
            assert!(
                import
                    .first()
                    .is_some_and(|s| allowed.contains(&s.as_str())),
                "{} imports {}: the seam imports only {allowed:?}",
                module.join("/"),
                import.join("/")
            );
        }
    }
    for file in source_files().iter().filter(|f| f.starts_with("platform/")) {
        let source = fs::read_to_string(root().join("src").join(file)).expect("a source file");
        for forbidden in [
            "OpenServer",
            "crate::http",
            "crate::openserver",
            "crate::dispatcher",
        ] {
            let code: String = source
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                !code.contains(&format!("{forbidden}::"))
                    && !code.contains(&format!("{forbidden} "))
                    && !code.contains(&format!("{forbidden}>"))
                    && !code.contains(&format!("{forbidden})")),
                "src/{file} names {forbidden}"
            );
        }
    }
}

#[test]
fn src_names_its_sources_not_the_seed_documents() {
    for file in source_files().iter().filter(|f| f.ends_with(".rs")) {
        let source = fs::read_to_string(root().join("src").join(file)).expect("a source file");
        for (number, line) in source.lines().enumerate() {
            let lower = line.to_lowercase();
            let comment = lower.trim_start().starts_with("//");
            assert!(
                !(comment
                    && (lower.contains("the seed")
                        || lower.contains("seed 0")
                        || lower.contains("seed's"))),
                "src/{file}:{} cites a seed document; name the TCMPP or WeChat page instead: {line}",
                number + 1
            );
        }
    }
}

#[test]
fn the_guide_reader_resolves_folders_and_globs() {
    assert!(matches(
        "openserver/store/redis/lua/*.lua",
        "openserver/store/redis/lua/issue_code.lua"
    ));
    assert!(!matches(
        "openserver/store/redis/lua/*.lua",
        "openserver/store/redis/keys.rs"
    ));
    let named = documented_files();
    for expected in [
        "lib.rs",
        "dispatcher/builtin.rs",
        "openserver/store/memory/code_store.rs",
        "payment/fields.rs",
        "http/server/routes.rs",
    ] {
        assert!(
            named.contains(expected),
            "{expected} not read from the guide: {named:?}"
        );
    }
    let graph = import_graph();
    let module = |path: &str| path.split('/').map(str::to_owned).collect::<Vec<String>>();
    assert!(graph[&module("openserver/developer")].contains(&module("openserver/codes")));
    assert!(graph[&module("platform")].contains(&module("app")));
    assert!(graph[&module("dispatcher/builtin")].contains(&module("platform")));
}
