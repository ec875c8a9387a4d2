//! The function manifest as written in the workspace `Cargo.toml`: the watch router (the API
//! routes) and `[workspace.metadata.shop]`. One reader for every tool that needs it: `xtask`
//! generates the templates from it, the test client routes requests by it. A key it does not know
//! is an error.

use serde::Deserialize;

#[derive(Deserialize)]
pub struct CargoToml {
    pub workspace: Workspace,
}

#[derive(Deserialize)]
pub struct Workspace {
    pub metadata: Metadata,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub lambda: Lambda,
    pub shop: Shop,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lambda {
    pub watch: Watch,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Watch {
    /// path -> its routes (read in order through `ordered`).
    pub router: toml::Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub method: String,
    pub function: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shop {
    /// name -> [`Function`]
    pub functions: toml::Table,
    pub streams: Option<Streams>,
    /// name -> [`Rule`]
    #[serde(default)]
    pub rules: toml::Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Function {
    pub handler: String,
    pub memory: u64,
    pub schedule: Option<String>,
    pub streams: Option<Vec<String>>,
    /// The images bucket's key prefix whose created objects invoke it (through EventBridge).
    pub uploads: Option<String>,
    /// Reserved concurrency: at most this many invocations at once (locally, the async queue's
    /// bound for it).
    pub concurrency: Option<u32>,
    /// table -> actions
    #[serde(default)]
    pub dynamodb: toml::Table,
    /// images bucket key prefix (`products/`, `uploads/`) -> actions on the objects under it
    #[serde(default)]
    pub s3: toml::Table,
    /// Actions on the storefront's bucket (its published pages).
    #[serde(default)]
    pub site: Vec<String>,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub ses: Vec<String>,
    /// How the CDN's WAF treats the route (tests/iac holds the templates to it).
    pub edge: Option<Edge>,
}

/// How the CDN's WAF limits a route: `sign-in` routes get its tight per-address rate.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Edge {
    SignIn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Streams {
    pub batch_size: u64,
    pub retries: u64,
    /// table -> [`Filter`]
    pub filters: toml::Table,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub prefixes: Vec<String>,
    pub changes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub target: String,
    pub pattern: serde_json::Value,
}

/// A table's entries in the order written, each read as `T`; an error names the entry.
pub fn ordered<T: serde::de::DeserializeOwned>(
    what: &str,
    table: &toml::Table,
) -> Result<Vec<(String, T)>, String> {
    table
        .iter()
        .map(|(k, v)| {
            v.clone()
                .try_into()
                .map(|t| (k.clone(), t))
                .map_err(|e| format!("{what} {k}: {e}"))
        })
        .collect()
}
