//! One builder for update expressions (SET, REMOVE, ADD) and their conditions. Every attribute name
//! goes through a placeholder, so reserved words (`name`, `status`) and map keys (a token id) are
//! safe, and callers never type an attribute's name into an expression string.

use std::collections::HashMap;

use aws_sdk_dynamodb::{
    Client,
    operation::update_item::builders::UpdateItemFluentBuilder,
    types::{AttributeValue, Update, builders::UpdateBuilder},
};

use super::{Item, built};
use crate::error::ApiResult;

#[derive(Debug, Default)]
pub struct UpdateExpr {
    set: Vec<String>,
    remove: Vec<String>,
    add: Vec<String>,
    delete: Vec<String>,
    conditions: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl UpdateExpr {
    pub fn new() -> Self {
        Self::default()
    }

    /// The placeholder of attribute `attr` (one per attribute), for conditions.
    pub fn name(&mut self, attr: &str) -> String {
        if let Some((k, _)) = self.names.iter().find(|(_, v)| *v == attr) {
            return k.clone();
        }
        let k = format!("#n{}", self.names.len());
        self.names.insert(k.clone(), attr.to_string());
        k
    }

    /// The placeholder of a new value, for conditions.
    pub fn value(&mut self, v: AttributeValue) -> String {
        let k = format!(":v{}", self.values.len());
        self.values.insert(k.clone(), v);
        k
    }

    /// A document path (`map.key`), each part through a placeholder.
    fn path(&mut self, path: &[&str]) -> String {
        path.iter()
            .map(|p| self.name(p))
            .collect::<Vec<_>>()
            .join(".")
    }

    /// `SET attr = v`
    pub fn set(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        self.set_path(&[attr], v)
    }

    /// `SET a.b = v` (an entry of a map attribute).
    pub fn set_path(&mut self, path: &[&str], v: AttributeValue) -> &mut Self {
        let (p, v) = (self.path(path), self.value(v));
        self.set.push(format!("{p} = {v}"));
        self
    }

    /// `SET attr = if_not_exists(attr, v)`
    pub fn set_if_absent(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        let (p, v) = (self.name(attr), self.value(v));
        self.set.push(format!("{p} = if_not_exists({p}, {v})"));
        self
    }

    /// `SET attr = list_append(if_not_exists(attr, []), [v])`: one more entry at the end of a list.
    pub fn push(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        let p = self.name(attr);
        let (empty, one) = (
            self.value(AttributeValue::L(Vec::new())),
            self.value(AttributeValue::L(vec![v])),
        );
        self.set.push(format!(
            "{p} = list_append(if_not_exists({p}, {empty}), {one})"
        ));
        self
    }

    /// `SET attr = attr + by` (a number; `by` may be negative).
    pub fn increment(&mut self, attr: &str, by: i64) -> &mut Self {
        let (p, v) = (self.name(attr), self.value(super::n(by)));
        self.set.push(format!("{p} = {p} + {v}"));
        self
    }

    /// `ADD attr v` (numbers: adds, creating the attribute at `v`).
    pub fn add(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        let (p, v) = (self.name(attr), self.value(v));
        self.add.push(format!("{p} {v}"));
        self
    }

    /// `DELETE attr v` (takes the elements of the set `v` out of the set `attr`).
    pub fn delete(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        let (p, v) = (self.name(attr), self.value(v));
        self.delete.push(format!("{p} {v}"));
        self
    }

    /// `REMOVE attr`
    pub fn remove(&mut self, attr: &str) -> &mut Self {
        self.remove_path(&[attr])
    }

    /// `REMOVE a.b`
    pub fn remove_path(&mut self, path: &[&str]) -> &mut Self {
        let p = self.path(path);
        self.remove.push(p);
        self
    }

    /// Adds a condition (all of them must hold), written with this builder's placeholders.
    pub fn condition(&mut self, c: impl Into<String>) -> &mut Self {
        self.conditions.push(c.into());
        self
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
            && self.remove.is_empty()
            && self.add.is_empty()
            && self.delete.is_empty()
    }

    /// The update expression: `SET .. REMOVE .. ADD .. DELETE ..`.
    pub fn expression(&self) -> String {
        let mut parts = Vec::new();
        for (verb, list) in [
            ("SET", &self.set),
            ("REMOVE", &self.remove),
            ("ADD", &self.add),
            ("DELETE", &self.delete),
        ] {
            if !list.is_empty() {
                parts.push(format!("{verb} {}", list.join(", ")));
            }
        }
        parts.join(" ")
    }

    fn condition_expression(&self) -> Option<String> {
        (!self.conditions.is_empty()).then(|| {
            self.conditions
                .iter()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join(" AND ")
        })
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    /// An `UpdateItem` of `key` with this expression; the caller may add return values and send.
    pub fn update_item(&self, client: &Client, table: &str, key: Item) -> UpdateItemFluentBuilder {
        client
            .update_item()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(self.expression())
            .set_condition_expression(self.condition_expression())
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(self.values())
    }

    /// The same update as an item of a transaction, still open for options.
    pub fn tx_builder(&self, table: &str, key: Item) -> UpdateBuilder {
        Update::builder()
            .table_name(table)
            .set_key(Some(key))
            .update_expression(self.expression())
            .set_condition_expression(self.condition_expression())
            .set_expression_attribute_names(self.names())
            .set_expression_attribute_values(self.values())
    }

    /// The same update as an item of a transaction.
    pub fn tx_item(&self, table: &str, key: Item) -> ApiResult<Update> {
        built(self.tx_builder(table, key).build())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{n, s};
    use super::*;

    #[test]
    fn every_name_and_value_goes_through_a_placeholder() {
        let mut u = UpdateExpr::new();
        u.set("name", s("Mug"))
            .increment("stock", -2)
            .remove("image_url")
            .set_path(&["revoked_tokens", "01JTI"], n(5))
            .remove_path(&["revoked_tokens", "OLD"])
            .add("failures", n(1));
        let stock = u.name("stock");
        let two = u.value(n(2));
        u.condition(format!("{stock} >= {two}"));
        assert_eq!(
            u.expression(),
            "SET #n0 = :v0, #n1 = #n1 + :v1, #n3.#n4 = :v2 REMOVE #n2, #n3.#n5 ADD #n6 :v3"
        );
        assert_eq!(u.condition_expression().unwrap(), "(#n1 >= :v4)");
        let names = u.names().unwrap();
        assert_eq!(names["#n0"], "name");
        assert_eq!(names["#n4"], "01JTI");
        assert_eq!(u.values().unwrap()[":v1"], n(-2));
    }

    #[test]
    fn an_empty_builder_says_so() {
        let mut u = UpdateExpr::new();
        assert!(u.is_empty());
        u.condition("attribute_exists(pk)");
        assert!(u.is_empty());
        assert_eq!(u.expression(), "");
    }
}
