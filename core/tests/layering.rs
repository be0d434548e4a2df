//! The core's folders form layers: no top-level module of `src/` reaches, through `crate::`
//! paths, a module that reaches back to it. A cycle here is how "one import circle ties 18
//! files together" crept in before; this test keeps it from coming back.
//!
//! Paths through the crate root's re-exports (`crate::key`, `crate::Config`) are resolved to
//! the folder that defines them, read from `lib.rs`'s `use` lines. Comments are ignored (a doc
//! link is not a dependency), and so are `#[cfg(test)]` modules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
    text.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

fn identifier(text: &str) -> &str {
    let end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
    &text[..end]
}

/// The first segment of every `crate::` path in `code`, including each item of `crate::{a, b}`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item_start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_ascii_alphanumeric() || c == '_') => {
                        found.push(identifier(&group[i..]).to_string());
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.push(identifier(rest).to_string());
        }
    }
    found
}

/// Where the crate root's re-exported names live: `pub use certs::{cert, lifecycle};` maps
/// `cert` and `lifecycle` to `certs`.
fn root_reexports(lib: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for statement in code(lib).split(';') {
        let statement = statement.trim();
        let Some(rest) = statement.strip_prefix("pub use ").or_else(|| statement.strip_prefix("use ")) else {
            continue;
        };
        let folder = identifier(rest);
        if !modules.contains(folder) {
            continue;
        }
        let names = rest[folder.len()..].trim_start_matches("::");
        let names = names.trim_start_matches('{').trim_end_matches('}');
        for name in names.split(',') {
            let name = name.trim().rsplit("::").next().unwrap_or_default();
            if !name.is_empty() {
                map.insert(name.to_string(), folder.to_string());
            }
        }
    }
    map
}

#[test]
fn the_core_modules_form_layers_without_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let top = |path: &Path| -> String {
        let relative = path.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str().to_string_lossy().to_string();
        first.trim_end_matches(".rs").to_string()
    };
    let modules: BTreeSet<String> = files.iter().map(|f| top(f)).filter(|m| m != "lib").collect();
    assert!(modules.len() > 10, "read the core's modules: {modules:?}");
    let reexports = root_reexports(&std::fs::read_to_string(src.join("lib.rs")).unwrap(), &modules);
    assert_eq!(reexports.get("key").map(String::as_str), Some("crypto"), "{reexports:?}");

    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = top(file);
        if from == "lib" {
            continue;
        }
        let text = code(&std::fs::read_to_string(file).unwrap());
        for name in crate_paths(&text) {
            let to = match reexports.get(&name) {
                Some(folder) => folder.clone(),
                None if modules.contains(&name) => name,
                None => continue,
            };
            if to != from {
                edges.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    assert!(edges.get("flow").is_some_and(|e| e.contains("config")), "the flow uses the configuration: {edges:?}");

    // Every module reachable from `start` (depth-first), to find one that reaches back.
    let reach = |start: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.to_string()];
        while let Some(module) = stack.pop() {
            for next in edges.get(&module).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let mut cycles = Vec::new();
    for (from, targets) in &edges {
        for to in targets {
            if reach(to).contains(from) {
                cycles.push(format!("{from} -> {to} -> … -> {from}"));
            }
        }
    }
    assert!(cycles.is_empty(), "module cycles in alipay-core:\n{}", cycles.join("\n"));
}

#[test]
fn the_path_reader_sees_grouped_and_nested_imports() {
    let paths = crate_paths("use crate::{key::{A, B}, cert};\nlet x = crate::Config::new();");
    assert_eq!(paths, ["key", "cert", "Config"]);
}
