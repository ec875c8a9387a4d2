//! The storefront as published: every stylesheet and script gets a content-hashed name
//! (`js/api.3f9c0a1b2d.js`) and is cached for a year as `immutable`, while the pages and
//! `config.json` are revalidated on every load. A deploy then changes exactly the names whose
//! contents changed, and no browser or CDN can mix an old script with a new page.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use shop::platform::objects::{IMMUTABLE, REVALIDATE};

/// One object of the site bucket.
#[derive(Debug, PartialEq, Eq)]
pub struct Object {
    pub key: String,
    pub body: Vec<u8>,
    pub cache_control: &'static str,
}

const BRIEF: &str = "public, max-age=300";

/// Whether `key` is published under a hashed name.
fn fingerprinted(key: &str) -> bool {
    key.ends_with(".css") || (key.starts_with("js/") && key.ends_with(".js"))
}

/// `dir/name.ext` as `dir/name.<hash>.ext`, the hash over `body`.
fn hashed_name(key: &str, body: &[u8]) -> String {
    let hash: String = Sha256::digest(body)[..5]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    match key.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{key}.{hash}"),
    }
}

/// The objects to upload for the site's files (`key` -> contents): fingerprinted assets with every
/// reference to them rewritten, modules before the modules that import them (the storefront's
/// modules form no circle: `tests/browser/modules.test.mjs`).
pub fn publish(files: &BTreeMap<String, Vec<u8>>) -> Vec<Object> {
    let mut renamed: BTreeMap<String, String> = BTreeMap::new();
    for key in files.keys().filter(|k| fingerprinted(k)) {
        name_of(key, files, &mut renamed, &mut Vec::new());
    }
    files
        .iter()
        .map(|(key, body)| {
            let (key, cache_control) = match renamed.get(key) {
                Some(new) => (new.clone(), IMMUTABLE),
                None if key.ends_with(".html") || key == "config.json" => (key.clone(), REVALIDATE),
                None => (key.clone(), BRIEF),
            };
            let body = rewrite(key_dir(&key), body, &renamed);
            Object {
                key,
                body,
                cache_control,
            }
        })
        .collect()
}

/// The hashed name of `key`, naming the assets it refers to first.
fn name_of(
    key: &str,
    files: &BTreeMap<String, Vec<u8>>,
    renamed: &mut BTreeMap<String, String>,
    visiting: &mut Vec<String>,
) -> String {
    if let Some(done) = renamed.get(key) {
        return done.clone();
    }
    assert!(
        !visiting.iter().any(|v| v == key),
        "{key} imports itself through {visiting:?}"
    );
    visiting.push(key.to_string());
    let body = &files[key];
    let text = String::from_utf8_lossy(body);
    for dep in files.keys().filter(|k| fingerprinted(k) && *k != key) {
        let named = reference(key_dir(key), dep);
        if ['\'', '"'].iter().any(|q| {
            text.contains(&format!("{q}{named}{q}")) || text.contains(&format!("{q}/{dep}{q}"))
        }) {
            name_of(dep, files, renamed, visiting);
        }
    }
    visiting.pop();
    let name = hashed_name(key, &rewrite(key_dir(key), body, renamed));
    renamed.insert(key.to_string(), name.clone());
    name
}

fn key_dir(key: &str) -> &str {
    key.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// How a file in `dir` names `target` in quotes: `'./api.js'` beside it, `"js/main.js"` from the root.
fn reference(dir: &str, target: &str) -> String {
    match target
        .strip_prefix(&format!("{dir}/"))
        .filter(|_| !dir.is_empty())
    {
        Some(sibling) => format!("./{sibling}"),
        None => target.to_string(),
    }
}

/// `body` (a file in `dir`) with every quoted reference to a renamed asset replaced, relative
/// (`'./api.js'`, `"js/main.js"`) or from the site's root (`"/js/main.js"`, as the pages say it:
/// they are served at every depth of path).
fn rewrite(dir: &str, body: &[u8], renamed: &BTreeMap<String, String>) -> Vec<u8> {
    let Ok(mut text) = String::from_utf8(body.to_vec()) else {
        return body.to_vec();
    };
    for (old, new) in renamed {
        let (from, to) = (reference(dir, old), reference(dir, new));
        for quote in ['\'', '"'] {
            text = text.replace(
                &format!("{quote}{from}{quote}"),
                &format!("{quote}{to}{quote}"),
            );
            text = text.replace(
                &format!("{quote}/{old}{quote}"),
                &format!("{quote}/{new}{quote}"),
            );
        }
    }
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> BTreeMap<String, Vec<u8>> {
        [
            (
                "index.html",
                r#"<link href="/styles.css"><script src="/js/main.js"></script>"#,
            ),
            ("styles.css", "body{}"),
            (
                "js/main.js",
                "import { a } from './api.js';\nimport './ui.js';",
            ),
            ("js/api.js", "export const a = fetch('config.json');"),
            ("js/ui.js", "import { a } from './api.js';"),
            ("config.json", "{}"),
            ("openapi.yaml", "openapi: 3.1.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
    }

    fn by_name(objects: &[Object]) -> BTreeMap<&str, (&str, &'static str)> {
        objects
            .iter()
            .map(|o| {
                (
                    o.key.as_str(),
                    (std::str::from_utf8(&o.body).unwrap(), o.cache_control),
                )
            })
            .collect()
    }

    #[test]
    fn assets_get_hashed_names_that_every_reference_follows() {
        let objects = publish(&site());
        let out = by_name(&objects);
        let named = |prefix: &str| *out.keys().find(|k| k.starts_with(prefix)).unwrap();
        let (api, ui, main, css) = (
            named("js/api."),
            named("js/ui."),
            named("js/main."),
            named("styles."),
        );
        assert!(api.len() == "js/api.0123456789.js".len(), "{api}");
        let (html, cache) = out["index.html"];
        assert_eq!(
            html,
            format!(r#"<link href="/{css}"><script src="/{main}"></script>"#)
        );
        assert_eq!(cache, "no-cache");
        let strip = |k: &str| k.trim_start_matches("js/").to_string();
        assert_eq!(
            out[main].0,
            format!(
                "import {{ a }} from './{}';\nimport './{}';",
                strip(api),
                strip(ui)
            )
        );
        assert_eq!(
            out[ui].0,
            format!("import {{ a }} from './{}';", strip(api))
        );
        assert_eq!(
            out[api],
            (
                "export const a = fetch('config.json');",
                "public, max-age=31536000, immutable"
            )
        );
        assert_eq!(out["config.json"].1, "no-cache");
        assert_eq!(out["openapi.yaml"].1, "public, max-age=300");
        assert_eq!(objects.len(), site().len());
    }

    #[test]
    fn a_change_renames_the_file_and_whatever_imports_it_but_nothing_else() {
        let before = publish(&site());
        let mut changed = site();
        changed.insert("js/api.js".into(), b"export const a = 2;".to_vec());
        let after = publish(&changed);
        let keys = |o: &[Object]| {
            o.iter()
                .map(|o| o.key.clone())
                .collect::<std::collections::BTreeSet<_>>()
        };
        let gone: Vec<String> = keys(&before).difference(&keys(&after)).cloned().collect();
        let stems: Vec<&str> = gone.iter().map(|k| k.split('.').next().unwrap()).collect();
        assert_eq!(stems, ["js/api", "js/main", "js/ui"], "{gone:?}");
    }
}
