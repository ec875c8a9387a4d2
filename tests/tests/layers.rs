//! The layering of `shared/src`, checked from its imports: models import neither lambda_http nor
//! the AWS SDK, platform imports no domain, inside a domain `model` <- `store` <- `handlers`, and no
//! module imports another in a circle.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use shop_tests::repo_root;

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

/// A file's module path below `shared/src` (`orders/store.rs` -> `orders::store`, `mod.rs` and
/// `lib.rs` name their folder).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code of a file without its `#[cfg(test)]` module (tests may reach across layers).
fn code(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Every `crate::a::b` path the code names, including inside `use crate::{a::{b, c}, d}` groups,
/// resolved to the crate's modules (at most two levels deep), and `super::x` resolved likewise.
fn imports(
    module: &[String],
    code: &str,
    modules: &BTreeSet<Vec<String>>,
) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    let tokens: Vec<&str> = code
        .split(|c: char| {
            !(c.is_alphanumeric() || c == '_' || c == ':' || c == '{' || c == '}' || c == ',')
        })
        .filter(|t| !t.is_empty())
        .collect();
    let joined = tokens.join(" ");
    for (start, base) in [("crate::", Vec::new()), ("super::", parent_of(module))] {
        let mut rest = joined.as_str();
        while let Some(i) = rest.find(start) {
            rest = &rest[i + start.len()..];
            for path in expand(rest) {
                let mut full = base.clone();
                full.extend(
                    path.split("::")
                        .filter(|p| !p.is_empty())
                        .map(str::to_string),
                );
                // The longest prefix that is a module of the crate.
                while !full.is_empty() && !modules.contains(&full) {
                    full.pop();
                }
                if !full.is_empty() && full.as_slice() != module {
                    found.insert(full);
                }
            }
        }
    }
    found
}

fn parent_of(module: &[String]) -> Vec<String> {
    module[..module.len().saturating_sub(1)].to_vec()
}

/// The paths one use-tree names: `a::{b, c::d}` -> `a::b`, `a::c::d`; `{a, b::c}` -> `a`, `b::c`.
fn expand(s: &str) -> Vec<String> {
    tree(s.as_bytes(), &mut 0)
}

fn tree(s: &[u8], i: &mut usize) -> Vec<String> {
    let skip = |i: &mut usize| {
        while *i < s.len() && s[*i] == b' ' {
            *i += 1;
        }
    };
    skip(i);
    if *i < s.len() && s[*i] == b'{' {
        *i += 1;
        let mut out = Vec::new();
        while *i < s.len() {
            skip(i);
            match s[*i] {
                b'}' => {
                    *i += 1;
                    break;
                }
                b',' => *i += 1,
                _ => {
                    let before = *i;
                    out.extend(tree(s, i));
                    if *i == before {
                        *i += 1;
                    }
                }
            }
        }
        return out;
    }
    let mut path = String::new();
    loop {
        let start = *i;
        while *i < s.len() && (s[*i].is_ascii_alphanumeric() || s[*i] == b'_') {
            *i += 1;
        }
        path.push_str(std::str::from_utf8(&s[start..*i]).unwrap());
        if s[*i..].starts_with(b"::") {
            *i += 2;
            if *i < s.len() && s[*i] == b'{' {
                return tree(s, i)
                    .into_iter()
                    .map(|sub| format!("{path}::{sub}"))
                    .collect();
            }
            path.push_str("::");
        } else {
            return vec![path];
        }
    }
}

struct Crate {
    files: BTreeMap<Vec<String>, String>,
    modules: BTreeSet<Vec<String>>,
}

fn shop_crate() -> Crate {
    let src = repo_root().join("shared/src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let files: BTreeMap<Vec<String>, String> = files
        .iter()
        .map(|f| (module_of(&src, f), code(f)))
        .collect();
    let mut modules = BTreeSet::new();
    for m in files.keys() {
        for n in 1..=m.len() {
            modules.insert(m[..n].to_vec());
        }
    }
    Crate { files, modules }
}

/// The modules of a domain that are pure like its model: `mail` (who gets which email), `links`
/// (emailed links), `shipment` (carriers and tracking), pricing's `countries`, `address`, `rates`
/// and `quote`, the sales' `export` (CSV), and the catalog's `pictures` (what an upload becomes).
const PURE: [&str; 13] = [
    "model",
    "search",
    "mail",
    "links",
    "shipment",
    "countries",
    "address",
    "rates",
    "quote",
    "export",
    "pictures",
    "pages",
    "plan",
];

#[test]
fn models_use_neither_http_nor_aws() {
    let c = shop_crate();
    let models: Vec<_> = c
        .files
        .iter()
        .filter(|(m, _)| {
            m.first().is_some_and(|d| d != "platform")
                && m.last().is_some_and(|l| PURE.contains(&l.as_str()))
        })
        .collect();
    assert!(
        models.len() >= 3,
        "users, catalog and orders each have a model"
    );
    for (m, code) in models {
        for banned in [
            "lambda_http",
            "aws_sdk",
            "aws_config",
            "aws_smithy",
            "crate::platform::http",
            "crate::platform::db",
        ] {
            assert!(!code.contains(banned), "{} imports {banned}", m.join("::"));
        }
    }
}

#[test]
fn platform_knows_no_domain_and_domains_lean_one_way() {
    let c = shop_crate();
    for (m, code) in &c.files {
        if m.is_empty() {
            continue; // lib.rs: the root declares every module
        }
        let deps = imports(m, code, &c.modules);
        if m[0] == "platform" {
            for d in &deps {
                assert!(
                    ["platform", "error", "types"].contains(&d[0].as_str()),
                    "{} (platform) imports {}",
                    m.join("::"),
                    d.join("::")
                );
            }
        }
        // Inside a domain: handlers -> store -> model, never back.
        let rank = |part: &str| match part {
            // `stream` decodes stored records.
            pure if PURE.contains(&pure) => 0,
            "store" | "images" | "stream" => 1,
            "checkout" => 2,
            "handlers" => 3,
            _ => 9,
        };
        if m.len() == 2 && rank(&m[1]) < 9 {
            for d in deps.iter().filter(|d| d.len() == 2 && d[0] == m[0]) {
                assert!(
                    rank(&d[1]) <= rank(&m[1]),
                    "{} imports {}, a layer above it",
                    m.join("::"),
                    d.join("::")
                );
            }
        }
    }
}

#[test]
fn no_module_imports_another_in_a_circle() {
    let c = shop_crate();
    // Top-level modules (lib.rs, the root, excepted: it declares them all).
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, code) in &c.files {
        let Some(top) = m.first() else { continue };
        for d in imports(m, code, &c.modules) {
            if &d[0] != top {
                graph.entry(top.clone()).or_default().insert(d[0].clone());
            }
        }
    }
    assert!(
        graph.contains_key("orders"),
        "the scan found the domains: {graph:?}"
    );
    assert!(graph["orders"].contains("catalog"), "{graph:?}");
    if let Some(found) = circle(&graph) {
        panic!("import circle: {}", found.join(" -> "));
    }
}

/// The first circle in `graph`, as the path that closes it.
fn circle<N: Ord + Clone + std::fmt::Debug>(graph: &BTreeMap<N, BTreeSet<N>>) -> Option<Vec<N>> {
    fn visit<N: Ord + Clone>(
        n: &N,
        graph: &BTreeMap<N, BTreeSet<N>>,
        path: &mut Vec<N>,
        done: &mut BTreeSet<N>,
    ) -> Option<Vec<N>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut found = path[i..].to_vec();
            found.push(n.clone());
            return Some(found);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.clone());
        for d in graph.get(n).into_iter().flatten() {
            if let Some(found) = visit(d, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(n.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_file_imports_another_in_a_circle() {
    let c = shop_crate();
    // Between files, a parent module (`mod.rs`, which declares and re-exports its files) excepted.
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (m, code) in c.files.iter().filter(|(m, _)| m.len() >= 2) {
        for d in imports(m, code, &c.modules) {
            if c.files.contains_key(&d) && d.len() >= 2 {
                graph.entry(m.clone()).or_default().insert(d);
            }
        }
    }
    assert!(
        graph[&vec!["orders".to_string(), "store".to_string()]]
            .contains(&vec!["orders".to_string(), "model".to_string()]),
        "the scan found file imports: {graph:?}"
    );
    if let Some(found) = circle(&graph) {
        let names: Vec<String> = found.iter().map(|m| m.join("::")).collect();
        panic!("import circle between files: {}", names.join(" -> "));
    }
}

#[test]
fn the_circle_finder_finds_a_circle_of_two_files() {
    let edge = |a: &str, b: &str| (a.to_string(), BTreeSet::from([b.to_string()]));
    let two = BTreeMap::from([edge("principal", "session"), edge("session", "principal")]);
    assert_eq!(
        circle(&two),
        Some(vec![
            "principal".into(),
            "session".into(),
            "principal".into()
        ])
    );
    let line = BTreeMap::from([edge("principal", "session"), edge("session", "account")]);
    assert_eq!(circle(&line), None);
}

#[test]
fn the_scanner_sees_grouped_imports() {
    let modules: BTreeSet<Vec<String>> = [["a"].as_slice(), &["a", "b"], &["c"], &["c", "d"]]
        .iter()
        .map(|m| m.iter().map(|s| s.to_string()).collect())
        .collect();
    let found = imports(
        &["x".to_string()],
        "use crate::{a::{b::Thing, Other}, c::d::{self, f}};",
        &modules,
    );
    let want: BTreeSet<Vec<String>> = [vec!["a", "b"], vec!["a"], vec!["c", "d"]]
        .into_iter()
        .map(|m| m.into_iter().map(str::to_string).collect())
        .collect();
    assert_eq!(found, want);
}
