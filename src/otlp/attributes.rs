//! OTLP attribute values as JSON, and flat dotted attribute keys as nested
//! JSON objects.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use opentelemetry_proto::tonic::common::v1::any_value::Value as OtlpValue;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use serde_json::{Map, Value};

/// Converts one `AnyValue` to JSON without losing its content.
///
/// Strings, booleans and integers stay themselves and finite doubles become
/// numbers. NaN and the infinities become the strings `"NaN"`, `"Infinity"`
/// and `"-Infinity"`, as OTLP/JSON writes them. Arrays become arrays,
/// key-value lists objects, bytes standard base64 strings, and an empty value
/// `null`.
pub(crate) fn any_value_to_json(value: &AnyValue) -> Value {
    match &value.value {
        None => Value::Null,
        Some(OtlpValue::StringValue(text)) => Value::String(text.clone()),
        Some(OtlpValue::BoolValue(flag)) => Value::Bool(*flag),
        Some(OtlpValue::IntValue(number)) => Value::from(*number),
        Some(OtlpValue::DoubleValue(number)) => double_to_json(*number),
        Some(OtlpValue::ArrayValue(array)) => {
            Value::Array(array.values.iter().map(any_value_to_json).collect())
        }
        Some(OtlpValue::KvlistValue(list)) => Value::Object(attributes_to_map(&list.values)),
        Some(OtlpValue::BytesValue(bytes)) => Value::String(BASE64.encode(bytes)),
        // An index into a profiles dictionary, which trace requests do not carry.
        Some(OtlpValue::StringValueStrindex(index)) => Value::from(*index),
    }
}

fn double_to_json(number: f64) -> Value {
    if let Some(finite) = serde_json::Number::from_f64(number) {
        return Value::Number(finite);
    }
    let name = if number.is_nan() {
        "NaN"
    } else if number > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    };
    Value::String(name.to_owned())
}

/// Converts a key-value list to a JSON object in the order sent. When a key
/// repeats, the last value wins and the key keeps its first position.
pub(crate) fn attributes_to_map(attributes: &[KeyValue]) -> Map<String, Value> {
    let mut map = Map::with_capacity(attributes.len());
    for attribute in attributes {
        let value = attribute
            .value
            .as_ref()
            .map_or(Value::Null, any_value_to_json);
        map.insert(attribute.key.clone(), value);
    }
    map
}

/// Maximum number of segments a key is split into. The rest of a longer key
/// stays whole in the last segment, so the nesting depth is bounded.
const MAX_NESTING_SEGMENTS: usize = 32;

/// Turns flat dotted keys into nested objects: `{"gen_ai.request.model": m}`
/// becomes `{"gen_ai": {"request": {"model": m}}}`.
///
/// Rules, so the output does not depend on the order of the keys:
/// - When a key is both a leaf and a prefix of other keys (`llm.model` and
///   `llm.model.name`), the prefix becomes an object and the leaf's value is
///   kept in it under the empty key `""`.
/// - A key with an empty segment (a leading, trailing or doubled dot) is not
///   split and stays whole at the top level, so no empty segment ever meets
///   the `""` key of the rule above.
/// - Numeric segments stay object keys (`"0"`); they never become arrays.
/// - Keys are split into at most 32 segments, the rest staying in the last.
///
/// Objects list their keys in the order of first appearance.
pub fn nest_attributes(flat: &Map<String, Value>) -> Value {
    let mut root = Node::default();
    for (key, value) in flat {
        if key.split('.').any(str::is_empty) {
            root.child(key).leaf = Some(value.clone());
            continue;
        }
        let mut node = &mut root;
        for segment in key.splitn(MAX_NESTING_SEGMENTS, '.') {
            node = node.child(segment);
        }
        node.leaf = Some(value.clone());
    }
    root.into_json()
}

/// One key segment: its own value, if a key ends here, and its children in
/// order of first appearance.
#[derive(Default)]
struct Node {
    leaf: Option<Value>,
    children: Vec<(String, Node)>,
    positions: HashMap<String, usize>,
}

impl Node {
    fn child(&mut self, name: &str) -> &mut Node {
        let position = match self.positions.get(name) {
            Some(&position) => position,
            None => {
                self.positions.insert(name.to_owned(), self.children.len());
                self.children.push((name.to_owned(), Node::default()));
                self.children.len() - 1
            }
        };
        &mut self.children[position].1
    }

    fn into_json(self) -> Value {
        if self.children.is_empty() {
            return self.leaf.unwrap_or(Value::Null);
        }
        let mut object = Map::with_capacity(self.children.len() + 1);
        if let Some(leaf) = self.leaf {
            object.insert(String::new(), leaf);
        }
        for (key, child) in self.children {
            object.insert(key, child.into_json());
        }
        Value::Object(object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};
    use serde_json::json;

    fn any(value: OtlpValue) -> AnyValue {
        AnyValue { value: Some(value) }
    }

    fn key_value(key: &str, value: OtlpValue) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: Some(any(value)),
            key_strindex: 0,
        }
    }

    fn flat(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("test input must be a JSON object"),
        }
    }

    #[test]
    fn any_value_scalars_convert() {
        assert_eq!(
            any_value_to_json(&any(OtlpValue::StringValue("é 🧪".into()))),
            json!("é 🧪")
        );
        assert_eq!(
            any_value_to_json(&any(OtlpValue::BoolValue(true))),
            json!(true)
        );
        assert_eq!(
            any_value_to_json(&any(OtlpValue::IntValue(i64::MIN))),
            json!(i64::MIN)
        );
        assert_eq!(
            any_value_to_json(&any(OtlpValue::DoubleValue(0.2))),
            json!(0.2)
        );
        assert_eq!(any_value_to_json(&AnyValue { value: None }), Value::Null);
    }

    #[test]
    fn any_value_special_doubles_become_strings() {
        let nan = any_value_to_json(&any(OtlpValue::DoubleValue(f64::NAN)));
        let infinity = any_value_to_json(&any(OtlpValue::DoubleValue(f64::INFINITY)));
        let negative = any_value_to_json(&any(OtlpValue::DoubleValue(f64::NEG_INFINITY)));
        assert_eq!(nan, json!("NaN"));
        assert_eq!(infinity, json!("Infinity"));
        assert_eq!(negative, json!("-Infinity"));
    }

    #[test]
    fn any_value_bytes_become_base64() {
        let bytes = any(OtlpValue::BytesValue(vec![0, 159, 255, 1]));
        assert_eq!(any_value_to_json(&bytes), json!("AJ//AQ=="));
    }

    #[test]
    fn any_value_nested_arrays_and_kvlists() {
        let inner_list = KeyValueList {
            values: vec![
                key_value("depth", OtlpValue::IntValue(2)),
                key_value("tags", OtlpValue::ArrayValue(ArrayValue { values: vec![] })),
            ],
        };
        let array = ArrayValue {
            values: vec![
                any(OtlpValue::ArrayValue(ArrayValue {
                    values: vec![
                        any(OtlpValue::IntValue(1)),
                        any(OtlpValue::BoolValue(false)),
                    ],
                })),
                any(OtlpValue::KvlistValue(inner_list)),
                AnyValue { value: None },
            ],
        };
        let value = any(OtlpValue::ArrayValue(array));

        let expected = json!([[1, false], {"depth": 2, "tags": []}, null]);
        assert_eq!(any_value_to_json(&value), expected);
    }

    #[test]
    fn attributes_repeated_key_last_wins() {
        let attributes = vec![
            key_value("a", OtlpValue::IntValue(1)),
            key_value("b", OtlpValue::IntValue(2)),
            key_value("a", OtlpValue::IntValue(3)),
        ];
        let map = attributes_to_map(&attributes);
        assert_eq!(Value::Object(map.clone()), json!({"a": 3, "b": 2}));
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn nest_attributes_splits_dotted_keys() {
        let input = flat(json!({
            "gen_ai.request.model": "m",
            "gen_ai.prompt.0.role": "user",
            "service": "x",
        }));
        let expected = json!({
            "gen_ai": {"request": {"model": "m"}, "prompt": {"0": {"role": "user"}}},
            "service": "x",
        });
        assert_eq!(nest_attributes(&input), expected);
    }

    #[test]
    fn nest_attributes_leaf_and_prefix_any_order() {
        let leaf_first = flat(json!({"llm.model": "a", "llm.model.name": "b"}));
        let prefix_first = flat(json!({"llm.model.name": "b", "llm.model": "a"}));
        let expected = json!({"llm": {"model": {"": "a", "name": "b"}}});
        assert_eq!(nest_attributes(&leaf_first), expected);
        assert_eq!(nest_attributes(&prefix_first), expected);
    }

    #[test]
    fn nest_attributes_keeps_empty_segment_keys_whole() {
        let input = flat(json!({".hidden": 1, "a..b": 2, "a.": 3, "a": 4, "a.c": 5}));
        let expected = json!({".hidden": 1, "a..b": 2, "a.": 3, "a": {"": 4, "c": 5}});
        assert_eq!(nest_attributes(&input), expected);
    }

    #[test]
    fn nest_attributes_caps_segment_count() {
        let key = vec!["k"; 100].join(".");
        let input = flat(json!({ key.clone(): true }));
        let mut node = &nest_attributes(&input);
        for _ in 0..MAX_NESTING_SEGMENTS - 1 {
            node = &node["k"];
        }
        let rest = vec!["k"; 100 - (MAX_NESTING_SEGMENTS - 1)].join(".");
        assert_eq!(node[rest.as_str()], json!(true));
    }
}
