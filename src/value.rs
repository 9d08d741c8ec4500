//! The value every Kubernetes object is held in between the mapper and the emitter: a JSON
//! data model like `serde_json::Value`, made compact for projects of thousands of services.
//!
//! - A map is a vector of entries kept sorted by key (the order the emitter writes and
//!   lookups binary-search), not a B-tree: a one-key map costs one small allocation instead
//!   of a 600-byte node.
//! - Keys are `Cow<'static, str>`: the field names of typed Kubernetes structs are borrowed
//!   from the program, so only user data (labels, ConfigMap keys) allocates.
//!
//! [`Value::from_serialize`] turns any `Serialize` type (a k8s-openapi object) into a value
//! directly, without an intermediate `serde_json::Value`; `Value` serialises back for JSON
//! output.

use serde::ser::{self, Serialize, SerializeMap as _, SerializeSeq as _};
use std::borrow::Cow;
use std::fmt;

/// A map key: borrowed for struct field names, owned for data.
pub type Key = Cow<'static, str>;

/// A string value: inline up to 24 bytes, so that most strings of an object cost no
/// allocation of their own.
pub type Str = compact_str::CompactString;

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Short strings (up to 24 bytes: names, labels, ports, quantities) are held inline.
    String(Str),
    Array(Vec<Value>),
    Object(Map),
}

/// Entries sorted by key, keys unique.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map {
    entries: Vec<(Key, Value)>,
}

static NULL: Value = Value::Null;

/// The steps of a JSON pointer (`/spec/template/spec`: `spec`, `template`, `spec`), as
/// `split('/')` gives them after the leading `/`. Pointers are short and looked up for every
/// object the validator checks: a plain scan for each `/` beats the general searcher.
fn steps(pointer: &str) -> Option<impl Iterator<Item = &str>> {
    let mut rest = Some(pointer.strip_prefix('/')?);
    Some(std::iter::from_fn(move || {
        let text = rest?;
        match text.bytes().position(|b| b == b'/') {
            Some(i) => {
                rest = Some(&text[i + 1..]);
                Some(&text[..i])
            }
            None => {
                rest = None;
                Some(text)
            }
        }
    }))
}

impl Map {
    pub const fn new() -> Map {
        Map { entries: Vec::new() }
    }

    /// A map from entries in any order; of two entries with one key, the later one wins.
    pub fn from_entries(mut entries: Vec<(Key, Value)>) -> Map {
        if !entries.windows(2).all(|w| w[0].0 < w[1].0) {
            // Stable, so that equal keys stay in input order and the last one is kept.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out: Vec<(Key, Value)> = Vec::with_capacity(entries.len());
            for entry in entries {
                match out.last_mut() {
                    Some(last) if last.0 == entry.0 => *last = entry,
                    _ => out.push(entry),
                }
            }
            entries = out;
        }
        entries.shrink_to_fit();
        Map { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entries in key order, keys as stored (borrowed for struct field names).
    pub fn entries(&self) -> &[(Key, Value)] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_ref().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        // Most maps of an object have a few keys: comparing lengths first rejects nearly every
        // other key without touching its bytes, which beats a binary search's comparisons.
        if self.entries.len() <= 8 {
            return self
                .entries
                .iter()
                .find(|(k, _)| k.len() == key.len() && k.as_bytes() == key.as_bytes())
                .map(|(_, v)| v);
        }
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.find(key).ok().map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// Insert or replace; returns the value replaced.
    pub fn insert(&mut self, key: impl Into<Key>, value: Value) -> Option<Value> {
        let key = key.into();
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                // Most maps are small and built once: a few entries grow by one place at a
                // time rather than double (at 10,000 services, 2 MB less at the peak).
                if self.entries.len() < 8 {
                    self.entries.reserve_exact(1);
                }
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.find(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &Value)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Value)> {
        self.entries.iter_mut().map(|(k, v)| {
            let k: &Key = k;
            (k.as_ref(), v)
        })
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.entries.iter().map(|(_, v)| v)
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = (&'a str, &'a Value);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (Key, Value)>, fn(&'a (Key, Value)) -> (&'a str, &'a Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<K: Into<Key>> FromIterator<(K, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Map {
        Map::from_entries(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl Value {
    /// Any serialisable value (a k8s-openapi object, a `serde_json::Value`) as a [`Value`].
    /// Fails only for what JSON cannot hold: a map key that is not a string, a number, a
    /// bool or a char.
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Result<Value, Error> {
        value.serialize(ValueSerializer)
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|m| m.get(key))
    }

    /// Roughly how much work writing or checking a value takes, from what [`Value::measure`]
    /// gave: one per node, plus one per 32 bytes of string. For splitting a list of objects
    /// into parts of equal work.
    pub fn weight_of((nodes, bytes): (usize, usize)) -> usize {
        nodes + bytes / 32
    }

    /// The number of nodes and the bytes of all strings (keys included): any encoding of the
    /// value, JSON or the API server's protobuf, takes at least that many bytes.
    pub fn measure(&self) -> (usize, usize) {
        match self {
            Value::String(s) => (1, s.len()),
            Value::Array(items) => items.iter().fold((1, 0), |(n, b), v| {
                let (vn, vb) = v.measure();
                (n + vn, b + vb)
            }),
            Value::Object(map) => map.iter().fold((1, 0), |(n, b), (k, v)| {
                let (vn, vb) = v.measure();
                (n + vn + 1, b + vb + k.len())
            }),
            _ => (1, 0),
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.as_object_mut().and_then(|m| m.get_mut(key))
    }

    /// A JSON pointer of object keys only (`/spec/template/spec`); array steps are numbers.
    pub fn pointer(&self, pointer: &str) -> Option<&Value> {
        let mut target = self;
        for step in steps(pointer)? {
            target = match target {
                Value::Object(map) => map.get(step)?,
                Value::Array(items) => items.get(step.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(target)
    }

    pub fn pointer_mut(&mut self, pointer: &str) -> Option<&mut Value> {
        let mut target = self;
        for step in steps(pointer)? {
            target = match target {
                Value::Object(map) => map.get_mut(step)?,
                Value::Array(items) => items.get_mut(step.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(target)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Value>> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl std::ops::Index<&str> for Value {
    type Output = Value;
    /// The value under `key`, or null when there is none (as `serde_json` does).
    fn index(&self, key: &str) -> &Value {
        self.get(key).unwrap_or(&NULL)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(Str::new(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(Str::from(s))
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<Map> for Value {
    fn from(map: Map) -> Value {
        Value::Object(map)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::Array(items)
    }
}

impl Serialize for Value {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(f) => serializer.serialize_f64(*f),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (k, v) in map.iter() {
                    out.serialize_entry(k, v)?;
                }
                out.end()
            }
        }
    }
}

/// Why a value could not be built: only a map key JSON cannot hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Error {
        Error(msg.to_string())
    }
}

struct ValueSerializer;

/// Integer methods of a serializer (`serialize_i8: i8, ...`), each returning `$body`.
macro_rules! int_into {
    ($ok:ty, |$v:ident| $body:expr, $($method:ident: $int:ty),*) => {$(
        fn $method(self, $v: $int) -> Result<$ok, Error> {
            $body
        }
    )*};
}

/// Collects a sequence, a tuple or a tuple variant (`name` is the variant, if any).
struct SeqBuilder {
    variant: Option<&'static str>,
    items: Vec<Value>,
}

/// Collects a map, a struct or a struct variant.
struct MapBuilder {
    variant: Option<&'static str>,
    entries: Vec<(Key, Value)>,
    key: Option<Key>,
}

fn tagged(variant: Option<&'static str>, value: Value) -> Value {
    match variant {
        Some(name) => Value::Object(Map { entries: vec![(Cow::Borrowed(name), value)] }),
        None => value,
    }
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = SeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = MapBuilder;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        Ok(Value::Bool(v))
    }
    int_into!(Value, |v| Ok(Value::Int(v.into())), serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32);
    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        Ok(Value::Int(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Error> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Error> {
        // JSON has no NaN or infinity; serde_json writes null for them too.
        Ok(if v.is_finite() { Value::Float(v) } else { Value::Null })
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        Ok(Value::String(Str::from(v.encode_utf8(&mut [0; 4]) as &str)))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        Ok(Value::String(Str::new(v)))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        Ok(Value::Array(v.iter().map(|b| Value::Int((*b).into())).collect()))
    }
    fn serialize_none(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<Value, Error> {
        Ok(Value::String(Str::new(variant)))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        Ok(tagged(Some(variant), value.serialize(self)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder { variant: None, items: Vec::with_capacity(len.unwrap_or(0)) })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqBuilder, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder { variant: Some(variant), items: Vec::with_capacity(len) })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, Error> {
        Ok(MapBuilder { variant: None, entries: Vec::with_capacity(len.unwrap_or(0)), key: None })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<MapBuilder, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<MapBuilder, Error> {
        Ok(MapBuilder { variant: Some(variant), entries: Vec::with_capacity(len), key: None })
    }
}

impl SeqBuilder {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.items.push(value.serialize(ValueSerializer)?);
        Ok(())
    }
    fn finish(self) -> Result<Value, Error> {
        Ok(tagged(self.variant, Value::Array(self.items)))
    }
}

/// The four sequence-like serde traits all collect into a [`SeqBuilder`].
macro_rules! seq_builder {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for SeqBuilder {
            type Ok = Value;
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.push(value)
            }
            fn end(self) -> Result<Value, Error> {
                self.finish()
            }
        }
    )*};
}

seq_builder!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl MapBuilder {
    fn finish(self) -> Result<Value, Error> {
        Ok(tagged(self.variant, Value::Object(Map::from_entries(self.entries))))
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(Cow::Owned(key.serialize(KeySerializer)?));
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self.key.take().ok_or_else(|| Error("a map value came before its key".into()))?;
        self.entries.push((key, value.serialize(ValueSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Value, Error> {
        self.finish()
    }
}

/// Structs and struct variants: their field names are borrowed, never copied.
macro_rules! struct_builder {
    ($($trait:ident),*) => {$(
        impl ser::$trait for MapBuilder {
            type Ok = Value;
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
                self.entries.push((Cow::Borrowed(key), value.serialize(ValueSerializer)?));
                Ok(())
            }
            fn end(self) -> Result<Value, Error> {
                self.finish()
            }
        }
    )*};
}

struct_builder!(SerializeStruct, SerializeStructVariant);

/// Map keys: strings, and the scalars JSON writers turn into strings.
struct KeySerializer;

fn key_error() -> Error {
    Error("a map key must be a string".into())
}

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = ser::Impossible<String, Error>;
    type SerializeTuple = ser::Impossible<String, Error>;
    type SerializeTupleStruct = ser::Impossible<String, Error>;
    type SerializeTupleVariant = ser::Impossible<String, Error>;
    type SerializeMap = ser::Impossible<String, Error>;
    type SerializeStruct = ser::Impossible<String, Error>;
    type SerializeStructVariant = ser::Impossible<String, Error>;

    fn serialize_bool(self, v: bool) -> Result<String, Error> {
        Ok(v.to_string())
    }
    int_into!(String, |v| Ok(v.to_string()), serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64);
    fn serialize_f32(self, _: f32) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_f64(self, _: f64) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_char(self, v: char) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<String, Error> {
        Ok(variant.to_string())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, Error> {
        Err(key_error())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_steps_are_the_steps_split_gives() {
        for pointer in ["/a", "/a/b", "/spec/template/spec", "/", "//", "/a//b", "/a/", "/0/1"] {
            let split: Vec<&str> = pointer[1..].split('/').collect();
            assert_eq!(steps(pointer).unwrap().collect::<Vec<_>>(), split, "{pointer}");
        }
        assert!(steps("a/b").is_none());
        assert!(steps("").is_none());
    }
    use serde_json::json;

    #[test]
    fn agrees_with_serde_json_on_kubernetes_objects() {
        use k8s_openapi::api::core::v1::{Container, ContainerPort, Pod, PodSpec};
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
        use std::collections::BTreeMap;
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some("web".into()),
                labels: Some(BTreeMap::from([("z".into(), "1".into()), ("a".into(), "2".into())])),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "web".into(),
                    image: Some("nginx".into()),
                    ports: Some(vec![ContainerPort { container_port: 80, ..Default::default() }]),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let ours = Value::from_serialize(&pod).unwrap();
        // Serialised back, it is exactly what serde_json makes of the object.
        assert_eq!(serde_json::to_value(&ours).unwrap(), serde_json::to_value(&pod).unwrap());
        let keys: Vec<&str> = ours.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["apiVersion", "kind", "metadata", "spec"]);
        assert_eq!(ours.pointer("/spec/containers/0/ports/0/containerPort"), Some(&Value::Int(80)));
        assert_eq!(ours["metadata"]["name"].as_str(), Some("web"));
        assert!(ours["nothing"]["here"].is_null());
    }

    #[test]
    fn maps_stay_sorted_and_later_keys_win() {
        let value = Value::from_serialize(&json!({"b": 1, "a": {"y": true, "x": null}, "c": [1.5, "s"]})).unwrap();
        let keys: Vec<&str> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["a", "b", "c"]);
        let map = Map::from_entries(vec![
            ("k".into(), Value::Int(1)),
            ("j".into(), Value::Int(2)),
            ("k".into(), Value::Int(3)),
        ]);
        assert_eq!(map.iter().collect::<Vec<_>>(), [("j", &Value::Int(2)), ("k", &Value::Int(3))]);
        let mut map = map;
        assert_eq!(map.insert("a", Value::Null), None);
        assert_eq!(map.insert("k", Value::Bool(true)), Some(Value::Int(3)));
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "j", "k"]);
        assert_eq!(map.remove("j"), Some(Value::Int(2)));
        assert!(!map.contains_key("j"));
    }

    #[test]
    fn keys_json_cannot_hold_are_an_error() {
        let map = std::collections::BTreeMap::from([((1, 2), "v")]);
        assert!(Value::from_serialize(&map).is_err());
        let map = std::collections::BTreeMap::from([(7, "v")]);
        assert_eq!(Value::from_serialize(&map).unwrap()["7"].as_str(), Some("v"));
    }
}
