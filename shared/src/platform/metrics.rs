//! Business metrics in CloudWatch Embedded Metric Format: one JSON line on stdout per event, turned
//! into metrics by CloudWatch Logs with no API call on the request path.

use serde_json::json;

pub const NAMESPACE: &str = "Shop";

/// A business metric, by the name CloudWatch shows. Each domain defines its own (the Terraform
/// dashboard charts these names); the platform only knows how to emit them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric(pub &'static str);

impl Metric {
    pub fn name(self) -> &'static str {
        self.0
    }
}

/// The EMF document for `values`, stamped `timestamp_ms`.
pub fn document(values: &[(Metric, i64)], timestamp_ms: u128) -> serde_json::Value {
    let mut doc = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[]],
                "Metrics": values.iter().map(|(m, _)| json!({ "Name": m.name(), "Unit": "Count" })).collect::<Vec<_>>(),
            }],
        },
    });
    for (m, v) in values {
        doc[m.name()] = json!(v);
    }
    doc
}

pub fn emit(values: &[(Metric, i64)]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    println!("{}", document(values, now));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_declares_each_metric_and_carries_its_value() {
        let d = document(
            &[(Metric("OrdersPlaced"), 1), (Metric("RevenueCents"), 4990)],
            1_700_000_000_000,
        );
        let decl = &d["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(decl["Namespace"], "Shop");
        assert_eq!(decl["Metrics"][1]["Name"], "RevenueCents");
        assert_eq!(d["OrdersPlaced"], 1);
        assert_eq!(d["RevenueCents"], 4990);
        assert_eq!(d["_aws"]["Timestamp"], 1_700_000_000_000u64);
    }
}
