//! The one paged Query every listing uses: an index partition, optionally narrowed to a sort-key
//! prefix, one page at a time behind a signed cursor.

use aws_sdk_dynamodb::Client;
use serde::de::{self, DeserializeOwned, Visitor};

use super::{CursorKey, Gsi, KEY_ATTRIBUTES, Page, PageRequest, s};
use crate::error::ApiResult;

/// Which items a listing reads.
#[derive(Debug)]
pub struct PageQuery<'a> {
    pub table: &'a str,
    pub index: &'a Gsi,
    /// Value of the index's partition key.
    pub partition: String,
    /// `begins_with` on the index's sort key, when set and not empty.
    pub prefix: Option<String>,
    /// Descending sort-key order (ULID sort keys: newest first).
    pub descending: bool,
}

impl PageQuery<'_> {
    /// What a cursor of this listing belongs to: it is accepted back for the same listing only.
    fn scope(&self) -> String {
        format!(
            "{}|{}|{}",
            self.index.name,
            self.partition,
            self.prefix.as_deref().unwrap_or_default()
        )
    }
}

/// One page of `q`, decoded as `T`, and the cursor of the next page (`None` on the last).
pub async fn query_page<T: DeserializeOwned>(
    client: &Client,
    cursors: &CursorKey,
    q: PageQuery<'_>,
    page: &PageRequest,
) -> ApiResult<Page<T>> {
    let scope = q.scope();
    let start = page
        .cursor
        .as_deref()
        .map(|c| cursors.decode(&scope, c))
        .transpose()?;
    let mut query = client
        .query()
        .table_name(q.table)
        .index_name(q.index.name)
        .expression_attribute_names("#pk", q.index.pk)
        .expression_attribute_values(":pk", s(q.partition))
        .scan_index_forward(!q.descending)
        .set_exclusive_start_key(start)
        .limit(page.limit);
    query = match q.prefix.filter(|p| !p.is_empty()) {
        None => query.key_condition_expression("#pk = :pk"),
        Some(prefix) => query
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#sk", q.index.sk)
            .expression_attribute_values(":prefix", s(prefix)),
    };
    // Only the attributes the model reads: DynamoDB sends, and the SDK parses, nothing else (the
    // key attributes are a third of a stored order's).
    let fields = fields_of::<T>();
    if let Some(fields) = fields {
        let mut projection = Vec::with_capacity(fields.len());
        for (i, field) in fields.iter().enumerate() {
            let name = format!("#f{i}");
            query = query.expression_attribute_names(&name, *field);
            projection.push(name);
        }
        query = query.projection_expression(projection.join(","));
    }
    let out = query.send().await?;
    let items = out
        .items
        .unwrap_or_default()
        .into_iter()
        .map(|mut item| {
            // Read whole: the key attributes only place the item and no model reads them; left
            // out, a page of orders decodes in about half the time (the conversion is per attribute).
            if fields.is_none() {
                for k in KEY_ATTRIBUTES {
                    item.remove(k);
                }
            }
            serde_dynamo::from_item(item)
        })
        .collect::<Result<Vec<T>, _>>()?;
    Ok(Page {
        items,
        next_cursor: cursors.encode(&scope, out.last_evaluated_key.as_ref()),
    })
}

/// The fields a derived `Deserialize` struct reads, as its impl names them when it asks for a
/// struct; `None` for anything else (a map, a flattened struct), which is then read whole.
fn fields_of<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    let mut fields = None;
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A deserializer that only listens: it records the field list it is asked for, then stops.
struct FieldNames<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("field names read"))
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde::Deserialize;

    use super::fields_of;

    #[allow(dead_code)]
    #[derive(Deserialize)]
    struct Listed {
        id: String,
        #[serde(default)]
        status: Option<String>,
        #[serde(rename = "total_cents")]
        total: i64,
        #[serde(skip)]
        derived: u8,
    }

    #[test]
    fn a_listing_projects_exactly_the_stored_names_its_model_reads() {
        assert_eq!(
            fields_of::<Listed>(),
            Some(&["id", "status", "total_cents"][..])
        );
    }

    #[test]
    fn a_model_without_a_field_list_is_read_whole() {
        assert_eq!(fields_of::<HashMap<String, String>>(), None);
        assert_eq!(fields_of::<serde_json::Value>(), None);
    }
}
