//! Terraform values built as data and written in the layout `terraform fmt` keeps (aligned `=`
//! within each run of attributes), so a generated `.tf` file is never assembled from text.

use std::fmt::Write as _;

/// An HCL expression the generator writes.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Number(u64),
    String(String),
    List(Vec<Value>),
    /// `{ ... }` over several lines, one attribute per line.
    Object(Vec<Attr>),
    /// `{ key = value, ... }` on one line: for short records of scalars.
    Row(Vec<Attr>),
}

/// `key = value`, with an optional comment line above it.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    pub comment: Option<String>,
    pub key: String,
    /// A name from data (a function, a table): quoted, as every key of its map is.
    pub quoted: bool,
    pub value: Value,
}

impl Attr {
    pub fn new(key: impl Into<String>, value: impl Into<Value>) -> Self {
        Attr {
            comment: None,
            key: key.into(),
            quoted: false,
            value: value.into(),
        }
    }

    /// An entry of a map keyed by data, e.g. a function's name.
    pub fn entry(key: impl Into<String>, value: impl Into<Value>) -> Self {
        Attr {
            quoted: true,
            ..Attr::new(key, value)
        }
    }

    pub fn comment(mut self, comment: Option<String>) -> Self {
        self.comment = comment;
        self
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Number(n)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

/// A top-level block, e.g. `locals { ... }`.
pub fn block(name: &str, attrs: &[Attr]) -> String {
    let mut s = format!("{name} {{\n");
    attributes(&mut s, attrs, 1);
    s.push_str("}\n");
    s
}

/// `items` on one line, `, ` between them.
fn separated<T>(s: &mut String, items: &[T], mut each: impl FnMut(&mut String, &T)) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        each(s, item);
    }
}

fn indent(depth: usize) -> String {
    "  ".repeat(depth)
}

/// Attributes one per line; `=` aligned across each run that a comment or a value spanning
/// lines ends, as `terraform fmt` aligns them (it leaves a line ending in `{` out of any run).
fn attributes(s: &mut String, attrs: &[Attr], depth: usize) {
    let pad = indent(depth);
    let mut start = 0;
    while start < attrs.len() {
        let mut end = start + 1;
        while end < attrs.len()
            && !attrs[end - 1].value.spans_lines()
            && attrs[end].comment.is_none()
            && !attrs[end].value.opens_block()
        {
            end += 1;
        }
        let run = &attrs[start..end];
        let width = run.iter().map(|a| a.name().len()).max().unwrap_or(0);
        for a in run {
            if let Some(c) = &a.comment {
                let _ = writeln!(s, "{pad}# {c}");
            }
            let _ = write!(s, "{pad}{:width$} = ", a.name());
            a.value.write(s, depth);
            s.push('\n');
        }
        start = end;
    }
}

impl Attr {
    /// A bare identifier where HCL reads one as a name, a quoted string otherwise.
    fn name(&self) -> String {
        let k = &self.key;
        let bare = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if bare && !self.quoted {
            k.to_string()
        } else {
            quote(k)
        }
    }
}

/// A JSON string is an HCL string once template sequences (`${`, `%{`) are escaped.
fn quote(text: &str) -> String {
    serde_json::to_string(text)
        .expect("a string serialises")
        .replace("${", "$${")
        .replace("%{", "%%{")
}

impl Value {
    fn spans_lines(&self) -> bool {
        match self {
            Value::Object(a) => !a.is_empty(),
            Value::List(items) => items.iter().any(|v| !v.is_inline()),
            _ => false,
        }
    }

    fn opens_block(&self) -> bool {
        matches!(self, Value::Object(a) if !a.is_empty())
    }

    /// Whether a list may hold it on the list's own line (records go one per line).
    fn is_inline(&self) -> bool {
        match self {
            Value::Object(a) => a.is_empty(),
            Value::Row(_) => false,
            Value::List(items) => items.iter().all(Value::is_inline),
            _ => true,
        }
    }

    fn write(&self, s: &mut String, depth: usize) {
        match self {
            Value::Null => s.push_str("null"),
            Value::Number(n) => {
                let _ = write!(s, "{n}");
            }
            Value::String(text) => s.push_str(&quote(text)),
            Value::List(items) if self.spans_lines() => {
                s.push_str("[\n");
                for v in items {
                    s.push_str(&indent(depth + 1));
                    v.write(s, depth + 1);
                    s.push_str(",\n");
                }
                let _ = write!(s, "{}]", indent(depth));
            }
            Value::List(items) => {
                s.push('[');
                separated(s, items, |s, v| v.write(s, depth));
                s.push(']');
            }
            Value::Object(attrs) if attrs.is_empty() => s.push_str("{}"),
            Value::Object(attrs) => {
                s.push_str("{\n");
                attributes(s, attrs, depth + 1);
                let _ = write!(s, "{}}}", indent(depth));
            }
            Value::Row(attrs) => {
                s.push_str("{ ");
                separated(s, attrs, |s, a| {
                    let _ = write!(s, "{} = ", a.name());
                    a.value.write(s, depth);
                });
                s.push_str(" }");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_each_run_and_breaks_it_after_a_value_over_lines() {
        let grants = Value::List(vec![Value::Row(vec![
            Attr::new("table", "users"),
            Attr::new("actions", vec!["GetItem"]),
        ])]);
        let f = Value::Object(vec![
            Attr::new("route", "GET /health"),
            Attr::new("schedule", None::<String>),
            Attr::new("dynamodb", grants),
            Attr::new("s3", Vec::<String>::new()),
            Attr::new("streams", vec!["orders"]),
        ]);
        let out = block(
            "locals",
            &[Attr::new(
                "functions",
                Value::Object(vec![Attr::entry("get-me", f).comment(Some("why".into()))]),
            )],
        );
        assert_eq!(
            out,
            "locals {\n  functions = {\n    # why\n    \"get-me\" = {\n      route    = \"GET /health\"\n      schedule = null\n      dynamodb = [\n        { table = \"users\", actions = [\"GetItem\"] },\n      ]\n      s3      = []\n      streams = [\"orders\"]\n    }\n  }\n}\n"
        );
    }

    #[test]
    fn strings_escape_quotes_and_template_sequences() {
        let mut s = String::new();
        Value::from("{\"a\":\"${x}\"} 100%{y}").write(&mut s, 0);
        assert_eq!(s, r#""{\"a\":\"$${x}\"} 100%%{y}""#);
    }
}
