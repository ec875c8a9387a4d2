//! Items decoded straight from the SDK's `AttributeValue`s, in serde_dynamo's data model (the
//! stores write with `serde_dynamo::to_item`; this reads what it writes). serde_dynamo's own
//! `from_item` first rebuilds every map of the item as its own type, which hashed each attribute
//! name again and was most of a listing's decode time; this walks the SDK's maps as they are.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, Error as _, IntoDeserializer, MapAccess,
    SeqAccess, Unexpected, VariantAccess, Visitor,
};

use super::{Item, KEY_ATTRIBUTES};

pub type Error = serde_dynamo::Error;
type Result<T> = std::result::Result<T, Error>;

/// An item as `T`. The key attributes only place an item and no model reads them, so they are
/// passed over, as if absent.
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T> {
    T::deserialize(Value::Item(item))
}

/// One attribute value, or a whole item (whose key attributes are passed over).
enum Value {
    Item(Item),
    Attr(AttributeValue),
}

fn expected(what: &str, got: &AttributeValue) -> Error {
    let kind = match got {
        AttributeValue::S(_) => "a string (S)",
        AttributeValue::N(_) => "a number (N)",
        AttributeValue::Bool(_) => "a boolean (BOOL)",
        AttributeValue::Null(_) => "null (NULL)",
        AttributeValue::M(_) => "a map (M)",
        AttributeValue::L(_) => "a list (L)",
        AttributeValue::B(_) => "binary (B)",
        AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_) => "a set",
        _ => "an attribute type this SDK does not know",
    };
    Error::custom(format!("expected {what}, found {kind}"))
}

impl Value {
    fn attr(self) -> AttributeValue {
        match self {
            Value::Item(m) => AttributeValue::M(m),
            Value::Attr(v) => v,
        }
    }

    fn number(self) -> Result<String> {
        match self.attr() {
            AttributeValue::N(n) => Ok(n),
            other => Err(expected("a number", &other)),
        }
    }

    fn string(self) -> Result<String> {
        match self.attr() {
            AttributeValue::S(s) => Ok(s),
            other => Err(expected("a string", &other)),
        }
    }
}

macro_rules! number {
    ($($method:ident => $ty:ty, $visit:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            let n = self.number()?;
            let parsed: $ty = n
                .parse()
                .map_err(|_| Error::invalid_value(Unexpected::Str(&n), &visitor))?;
            visitor.$visit(parsed)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self {
            Value::Item(m) => visitor.visit_map(Map::new(m, true)),
            Value::Attr(v) => match v {
                AttributeValue::S(s) => visitor.visit_string(s),
                AttributeValue::N(n) => {
                    if let Ok(i) = n.parse::<i64>() {
                        visitor.visit_i64(i)
                    } else if let Ok(u) = n.parse::<u64>() {
                        visitor.visit_u64(u)
                    } else if let Ok(f) = n.parse::<f64>() {
                        visitor.visit_f64(f)
                    } else {
                        Err(Error::invalid_value(Unexpected::Str(&n), &visitor))
                    }
                }
                AttributeValue::Bool(b) => visitor.visit_bool(b),
                AttributeValue::Null(_) => visitor.visit_unit(),
                AttributeValue::M(m) => visitor.visit_map(Map::new(m, false)),
                AttributeValue::B(b) => visitor.visit_byte_buf(b.into_inner()),
                other => visitor.visit_seq(Seq::of(other)?),
            },
        }
    }

    number! {
        deserialize_i8 => i8, visit_i8;
        deserialize_i16 => i16, visit_i16;
        deserialize_i32 => i32, visit_i32;
        deserialize_i64 => i64, visit_i64;
        deserialize_u8 => u8, visit_u8;
        deserialize_u16 => u16, visit_u16;
        deserialize_u32 => u32, visit_u32;
        deserialize_u64 => u64, visit_u64;
        deserialize_f32 => f32, visit_f32;
        deserialize_f64 => f64, visit_f64;
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.attr() {
            AttributeValue::Bool(b) => visitor.visit_bool(b),
            other => Err(expected("a boolean", &other)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let s = self.string()?;
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            _ => Err(Error::invalid_value(Unexpected::Str(&s), &visitor)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_string(self.string()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_string(self.string()?)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_string(self.string()?)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.attr() {
            AttributeValue::B(b) => visitor.visit_byte_buf(b.into_inner()),
            other => Err(expected("binary", &other)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self {
            Value::Attr(AttributeValue::Null(true)) => visitor.visit_none(),
            some => visitor.visit_some(some),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.attr() {
            AttributeValue::Null(true) => visitor.visit_unit(),
            other => Err(expected("null", &other)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(Seq::of(self.attr())?)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self {
            Value::Item(m) => visitor.visit_map(Map::new(m, true)),
            Value::Attr(AttributeValue::M(m)) => visitor.visit_map(Map::new(m, false)),
            Value::Attr(other) => Err(expected("a map", &other)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self {
            Value::Attr(AttributeValue::L(_)) => self.deserialize_seq(visitor),
            _ => self.deserialize_map(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.attr() {
            AttributeValue::S(s) => visitor.visit_enum(s.into_deserializer()),
            AttributeValue::M(m) if m.len() == 1 => {
                let (variant, value) = m.into_iter().next().expect("one entry");
                visitor.visit_enum(Variant { variant, value })
            }
            other => Err(expected(
                "an enum (a string, or a map of one entry)",
                &other,
            )),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_unit()
    }
}

/// A list's or a set's elements in order.
struct Seq(std::vec::IntoIter<AttributeValue>);

impl Seq {
    fn of(v: AttributeValue) -> Result<Seq> {
        let items = match v {
            AttributeValue::L(l) => l,
            AttributeValue::Ss(s) => s.into_iter().map(AttributeValue::S).collect(),
            AttributeValue::Ns(n) => n.into_iter().map(AttributeValue::N).collect(),
            AttributeValue::Bs(b) => b.into_iter().map(AttributeValue::B).collect(),
            other => return Err(expected("a list or a set", &other)),
        };
        Ok(Seq(items.into_iter()))
    }
}

impl<'de> SeqAccess<'de> for Seq {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        self.0
            .next()
            .map(|v| seed.deserialize(Value::Attr(v)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// A map's entries; an item's without its key attributes.
struct Map {
    entries: std::collections::hash_map::IntoIter<String, AttributeValue>,
    item: bool,
    value: Option<AttributeValue>,
}

impl Map {
    fn new(m: Item, item: bool) -> Map {
        Map {
            entries: m.into_iter(),
            item,
            value: None,
        }
    }
}

impl<'de> MapAccess<'de> for Map {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        for (key, value) in self.entries.by_ref() {
            if self.item && KEY_ATTRIBUTES.contains(&key.as_str()) {
                continue;
            }
            self.value = Some(value);
            return seed.deserialize(key.into_deserializer()).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let value = self
            .value
            .take()
            .ok_or_else(|| Error::custom("a map value asked for before its key"))?;
        seed.deserialize(Value::Attr(value))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum variant stored as a map of one entry: `{ "Variant": value }`.
struct Variant {
    variant: String,
    value: AttributeValue,
}

impl<'de> EnumAccess<'de> for Variant {
    type Error = Error;
    type Variant = Value;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Value)> {
        let name = seed.deserialize(self.variant.into_deserializer())?;
        Ok((name, Value::Attr(self.value)))
    }
}

impl<'de> VariantAccess<'de> for Value {
    type Error = Error;

    fn unit_variant(self) -> Result<()> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::{
        catalog::model::ProductView,
        orders::{
            model::{CancelReason, Order},
            shipment::{Carrier, Shipment},
        },
        pricing::rates::{ShippingRates, ShippingRatesRequest, TaxRates, TaxRatesRequest},
        promotions::model::PromoCode,
        types::Timestamp,
    };

    /// Written as the stores write it, with the key attributes a table adds; read back by this
    /// decoder and by serde_dynamo's, which must agree with each other and with what was written.
    fn round_trip<T>(value: &T) -> T
    where
        T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let mut item: Item = serde_dynamo::to_item(value).unwrap();
        let theirs: T = serde_dynamo::from_item(item.clone()).unwrap();
        for k in KEY_ATTRIBUTES {
            item.insert(k.into(), AttributeValue::S(format!("{k}#placing")));
        }
        let ours: T = from_item(item).unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(&ours, value);
        ours
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Shape {
        Unit,
        Newtype(u32),
        Tuple(i8, String),
        Struct { a: bool },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Tagged {
        Parcel { grams: u64 },
        Letter,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(i64),
        Text(String),
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Newtype(String);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Every {
        text: String,
        letter: char,
        small: i8,
        negative: i64,
        big: u64,
        ratio: f64,
        yes: bool,
        absent: Option<String>,
        present: Option<u32>,
        nothing: (),
        list: Vec<Option<u16>>,
        pair: (u8, String),
        nested: BTreeMap<String, Vec<Shape>>,
        tagged: Vec<Tagged>,
        either: Vec<Either>,
        newtype: Newtype,
        bytes: serde_bytes_like::Bytes,
    }

    /// `Vec<u8>` as serde's bytes (DynamoDB `B`), without a crate for it.
    mod serde_bytes_like {
        use serde::{Deserializer, Serializer, de::Visitor};

        #[derive(Debug, PartialEq)]
        pub struct Bytes(pub Vec<u8>);

        impl serde::Serialize for Bytes {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for Bytes {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = Bytes;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Bytes, E> {
                        Ok(Bytes(v))
                    }
                    fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
                        Ok(Bytes(v.to_vec()))
                    }
                }
                d.deserialize_byte_buf(V)
            }
        }
    }

    #[test]
    fn every_shape_serde_dynamo_writes_reads_back_the_same() {
        round_trip(&Every {
            text: "Kenya \"Nyeri\" AA ☕".into(),
            letter: 'é',
            small: -8,
            negative: -1_234_567_890_123,
            big: u64::MAX,
            ratio: 0.125,
            yes: true,
            absent: None,
            present: Some(7),
            nothing: (),
            list: vec![Some(1), None, Some(65_535)],
            pair: (3, "three".into()),
            nested: BTreeMap::from([(
                "shapes".into(),
                vec![
                    Shape::Unit,
                    Shape::Newtype(4),
                    Shape::Tuple(-1, "t".into()),
                    Shape::Struct { a: false },
                ],
            )]),
            tagged: vec![Tagged::Parcel { grams: 250 }, Tagged::Letter],
            either: vec![Either::Number(-3), Either::Text("3".into())],
            newtype: Newtype("n".into()),
            bytes: serde_bytes_like::Bytes(vec![0, 159, 146, 150]),
        });
    }

    #[test]
    fn the_shops_stored_records_read_back_the_same() {
        let at = Timestamp::parse("2026-12-01T10:00:00Z").unwrap();
        round_trip(&Order {
            cancel_reason: Some(CancelReason::Expired),
            shipment: Some(Shipment {
                carrier: Carrier::RoyalMail,
                tracking_number: "AB123456789GB".into(),
                tracking_url:
                    "https://www.royalmail.com/track-your-item#/tracking-results/AB123456789GB"
                        .into(),
                shipped_at: at,
            }),
            promo_code: Some(PromoCode::parse("promo_code", "WELCOME-10").unwrap()),
            expires_at: None,
            ..Order::example()
        });
        round_trip(&ProductView::example("Kenya Nyeri AA"));
        let shipping: ShippingRatesRequest =
            serde_json::from_str(include_str!("../../../../scripts/seed-shipping.json")).unwrap();
        let tax: TaxRatesRequest =
            serde_json::from_str(include_str!("../../../../scripts/seed-tax.json")).unwrap();
        round_trip::<ShippingRates>(&shipping.try_into().unwrap());
        round_trip::<TaxRates>(&tax.try_into().unwrap());
    }

    #[test]
    fn sets_read_as_lists() {
        let item = Item::from([
            ("s".into(), AttributeValue::Ss(vec!["a".into(), "b".into()])),
            (
                "n".into(),
                AttributeValue::Ns(vec!["1".into(), "-2".into()]),
            ),
        ]);
        #[derive(Deserialize)]
        struct Sets {
            s: Vec<String>,
            n: Vec<i32>,
        }
        let sets: Sets = from_item(item).unwrap();
        assert_eq!(
            (sets.s, sets.n),
            (vec!["a".into(), "b".into()], vec![1, -2])
        );
    }

    #[test]
    fn a_wrong_type_is_an_error_that_names_both_types() {
        #[derive(Debug, Deserialize)]
        struct Counted {
            #[allow(dead_code)]
            count: u32,
        }
        let item = Item::from([("count".into(), AttributeValue::S("3".into()))]);
        let err = from_item::<Counted>(item).unwrap_err().to_string();
        assert!(
            err.contains("expected a number, found a string (S)"),
            "{err}"
        );
        let item = Item::from([("count".into(), AttributeValue::N("-3".into()))]);
        assert!(from_item::<Counted>(item).is_err());
        let item = Item::from([("count".into(), AttributeValue::N("4294967296".into()))]);
        assert!(from_item::<Counted>(item).is_err());
    }

    #[test]
    fn a_missing_field_is_an_error_and_a_key_attribute_never_fills_one() {
        #[derive(Debug, Deserialize)]
        struct Placed {
            #[allow(dead_code)]
            pk: String,
        }
        let item = Item::from([(KEY_ATTRIBUTES[0].into(), AttributeValue::S("P#1".into()))]);
        let err = from_item::<Placed>(item).unwrap_err().to_string();
        assert!(err.contains("missing field"), "{err}");
    }
}
