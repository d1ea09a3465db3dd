//! The YAML value tree before it becomes a [`Config`]: key paths, the schema's shape at each
//! path, unknown-key detection with suggestions, and finding the line a key sits on.

use std::cell::Cell;
use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_yaml_ng::Value;

use super::{
    AlertThresholds, AmpConfig, ClusterConfig, Config, GrafanaConfig, IrsaConfig, IstioConfig,
    KialiConfig, KubernetesConfig, NodegroupConfig, PagerdutyConfig, PrometheusConfig,
    PrometheusResources, RemoteWriteQueue, ResourceAmounts,
};

/// One step of a key path: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// Build a path of mapping keys, e.g. `keys(&["amp", "alias"])`.
pub(crate) fn keys(parts: &[&str]) -> Vec<Seg> {
    parts.iter().map(|p| Seg::Key((*p).to_string())).collect()
}

/// `cluster.nodegroups[0].name` style display of a path.
pub(crate) struct Display<'a>(pub &'a [Seg]);

impl fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

pub(crate) fn show(path: &[Seg]) -> String {
    Display(path).to_string()
}

/// What the schema expects at a path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    /// A struct with exactly these keys.
    Struct(&'static [&'static str]),
    /// A mapping with free-form keys (`tags`).
    FreeMap,
    /// A scalar or a list of scalars; a list of structs is reached through its items.
    Leaf,
}

/// `cluster.nodegroups[].name` style display of a path, list indices left out.
pub(crate) fn pattern(path: &[Seg]) -> String {
    let mut pattern = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if pattern.is_empty() => pattern.push_str(k),
            Seg::Key(k) => {
                pattern.push('.');
                pattern.push_str(k);
            }
            Seg::Index(_) => pattern.push_str("[]"),
        }
    }
    pattern
}

/// The schema's shape at `path`; list indices do not matter.
pub(crate) fn shape_at(path: &[Seg]) -> Shape {
    match pattern(path).as_str() {
        "" => Shape::Struct(fields_of::<Config>()),
        "tags" => Shape::FreeMap,
        "cluster" => Shape::Struct(fields_of::<ClusterConfig>()),
        "cluster.nodegroups[]" => Shape::Struct(fields_of::<NodegroupConfig>()),
        "kubernetes" => Shape::Struct(fields_of::<KubernetesConfig>()),
        "istio" => Shape::Struct(fields_of::<IstioConfig>()),
        "amp" => Shape::Struct(fields_of::<AmpConfig>()),
        "amp.alerts" => Shape::Struct(fields_of::<AlertThresholds>()),
        "irsa" => Shape::Struct(fields_of::<IrsaConfig>()),
        "irsa.roles" => Shape::Struct(fields_of::<super::IrsaRoles>()),
        "prometheus" => Shape::Struct(fields_of::<PrometheusConfig>()),
        "prometheus.resources" => Shape::Struct(fields_of::<PrometheusResources>()),
        "prometheus.resources.requests" | "prometheus.resources.limits" => {
            Shape::Struct(fields_of::<ResourceAmounts>())
        }
        "prometheus.remote_write" => Shape::Struct(fields_of::<RemoteWriteQueue>()),
        "kiali" => Shape::Struct(fields_of::<KialiConfig>()),
        "grafana" => Shape::Struct(fields_of::<GrafanaConfig>()),
        "pagerduty" => Shape::Struct(fields_of::<PagerdutyConfig>()),
        _ => Shape::Leaf,
    }
}

/// The field names serde's derive knows for `T`, read by handing it a deserializer that
/// records what `deserialize_struct` is asked for. Keeps the key lists in step with the structs.
fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let seen = Cell::new(None);
    let _ = T::deserialize(FieldCapture(&seen));
    seen.get().unwrap_or(&[])
}

struct FieldCapture<'a>(&'a Cell<Option<&'static [&'static str]>>);

impl<'de> de::Deserializer<'de> for FieldCapture<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.set(Some(fields));
        Err(de::Error::custom("fields recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The text of a mapping key as the user wrote it.
pub(crate) fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => serde_yaml_ng::to_string(other)
            .map(|s| s.trim_end().to_string())
            .unwrap_or_else(|_| "?".into()),
    }
}

/// A key the schema does not have.
#[derive(Debug)]
pub(crate) struct UnknownKey {
    /// Path including the unknown key itself.
    pub path: Vec<Seg>,
    pub key: String,
    pub suggestion: Option<&'static str>,
}

/// Every unknown key in `tree`, in document order.
pub(crate) fn unknown_keys(tree: &Value) -> Vec<UnknownKey> {
    let mut out = vec![];
    walk(tree, &mut vec![], &mut out);
    out
}

fn walk(value: &Value, path: &mut Vec<Seg>, out: &mut Vec<UnknownKey>) {
    match value {
        Value::Mapping(map) => {
            let Shape::Struct(fields) = shape_at(path) else {
                return;
            };
            for (k, v) in map {
                let key = key_text(k);
                path.push(Seg::Key(key.clone()));
                if fields.contains(&key.as_str()) {
                    walk(v, path, out);
                } else {
                    out.push(UnknownKey {
                        path: path.clone(),
                        suggestion: did_you_mean(&key, fields),
                        key,
                    });
                }
                path.pop();
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                walk(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The closest of `candidates` to `word`, when it is close enough to be the intended one.
pub(crate) fn did_you_mean(word: &str, candidates: &[&'static str]) -> Option<&'static str> {
    let word = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(&word, &c.to_ascii_lowercase()), *c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The value at `path`, if the tree has it.
pub(crate) fn get<'a>(tree: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    let mut node = tree;
    for seg in path {
        node = match (seg, node) {
            (Seg::Key(k), Value::Mapping(m)) => m.get(k.as_str())?,
            (Seg::Index(i), Value::Sequence(s)) => s.get(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Set the value at a path of keys, making mappings on the way (a scalar in the way is replaced).
pub(crate) fn set(tree: &mut Value, path: &[Seg], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        *tree = value;
        return;
    };
    let mut node = tree;
    for seg in parents {
        let Seg::Key(k) = seg else { return };
        if !node.is_mapping() {
            *node = Value::Mapping(Default::default());
        }
        let map = node.as_mapping_mut().expect("made a mapping above");
        node = map.entry(Value::String(k.clone())).or_insert(Value::Null);
    }
    let Seg::Key(k) = last else { return };
    if !node.is_mapping() {
        *node = Value::Mapping(Default::default());
    }
    node.as_mapping_mut()
        .expect("made a mapping above")
        .insert(Value::String(k.clone()), value);
}

/// Remove the value at `path` (a key from its mapping, an item from its list); `false` when
/// there is nothing there.
pub(crate) fn remove(tree: &mut Value, path: &[Seg]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut node = tree;
    for seg in parents {
        let next = match (seg, node) {
            (Seg::Key(k), Value::Mapping(m)) => m.get_mut(k.as_str()),
            (Seg::Index(i), Value::Sequence(s)) => s.get_mut(*i),
            _ => None,
        };
        let Some(next) = next else { return false };
        node = next;
    }
    match (last, node) {
        (Seg::Key(k), Value::Mapping(m)) => m.remove(k.as_str()).is_some(),
        (Seg::Index(i), Value::Sequence(s)) if *i < s.len() => {
            s.remove(*i);
            true
        }
        _ => false,
    }
}

/// Sections and tag maps written with no content (`grafana:` followed only by comments) mean
/// "all defaults", not "null".
pub(crate) fn drop_empty_sections(tree: &mut Value) {
    fn visit(node: &mut Value, path: &mut Vec<Seg>) {
        match node {
            Value::Mapping(map) => {
                if !matches!(shape_at(path), Shape::Struct(_)) {
                    return;
                }
                let mut empty = vec![];
                for (k, v) in map.iter_mut() {
                    path.push(Seg::Key(key_text(k)));
                    if v.is_null() && !matches!(shape_at(path), Shape::Leaf) {
                        empty.push(k.clone());
                    } else {
                        visit(v, path);
                    }
                    path.pop();
                }
                for k in empty {
                    map.remove(&k);
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    path.push(Seg::Index(i));
                    visit(item, path);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    visit(tree, &mut vec![]);
}

/// Whether a line is wanted for the key itself or for its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Key,
    Value,
}

const MARK: &str = "meshctl-locate-marker";

/// The 1-based line of the key (or value) at `path` in the YAML `text`, if it is there.
///
/// The YAML deserializer attaches the position of the node being read to the first error
/// raised while reading it, so we walk down the path and raise a marker error on arrival.
pub(crate) fn line_of(text: &str, path: &[Seg], target: Target) -> Option<usize> {
    if path.is_empty() {
        return None;
    }
    let de = serde_yaml_ng::Deserializer::from_str(text);
    let err = Find { path, target }.deserialize(de).err()?;
    if !err.to_string().contains(MARK) {
        return None;
    }
    err.location().map(|l| l.line())
}

struct Find<'p> {
    path: &'p [Seg],
    target: Target,
}

impl Find<'_> {
    fn arrived<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(E::custom(MARK))
        } else {
            Ok(())
        }
    }
}

impl<'de> DeserializeSeed<'de> for Find<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Find<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.arrived()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.arrived()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.arrived()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.arrived()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.arrived()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.arrived()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.arrived()
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.arrived()?;
        let Seg::Key(want) = &self.path[0] else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        let rest = &self.path[1..];
        let fail_on_key = rest.is_empty() && self.target == Target::Key;
        while let Some(hit) = map.next_key_seed(KeyMatch {
            want,
            fail: fail_on_key,
        })? {
            if hit {
                map.next_value_seed(Find {
                    path: rest,
                    target: self.target,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.arrived()?;
        let Seg::Index(want) = self.path[0] else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        let mut i = 0;
        loop {
            let more = if i == want {
                seq.next_element_seed(Find {
                    path: &self.path[1..],
                    target: self.target,
                })?
                .is_some()
            } else {
                seq.next_element::<IgnoredAny>()?.is_some()
            };
            if !more {
                return Ok(());
            }
            i += 1;
        }
    }
}

/// Reads a mapping key and says whether it is the wanted one (or fails there, to mark it).
struct KeyMatch<'a> {
    want: &'a str,
    fail: bool,
}

impl KeyMatch<'_> {
    fn check<E: de::Error>(&self, key: &str) -> Result<bool, E> {
        match (key == self.want, self.fail) {
            (true, true) => Err(E::custom(MARK)),
            (hit, _) => Ok(hit),
        }
    }
}

impl<'de> DeserializeSeed<'de> for KeyMatch<'_> {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyMatch<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        self.check(v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        self.check("null")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

const DUP_MARK: &str = "meshctl-duplicate-key";

/// The first key written twice in one mapping, and the 1-based line of its second appearance.
///
/// The YAML parser refuses such a file without saying where; reading the document with a
/// visitor that remembers each mapping's keys finds it, and the error raised while reading the
/// repeated key carries that key's position.
pub(crate) fn duplicate_key(text: &str) -> Option<(String, usize)> {
    let de = serde_yaml_ng::Deserializer::from_str(text);
    let err = Dups.deserialize(de).err()?;
    let msg = err.to_string();
    let key = msg.split(DUP_MARK).nth(1)?.to_string();
    Some((key, err.location()?.line()))
}

struct Dups;

impl<'de> DeserializeSeed<'de> for Dups {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Dups {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while map.next_key_seed(KeyOnce(&mut seen))?.is_some() {
            map.next_value_seed(Dups)?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Dups)?.is_some() {}
        Ok(())
    }
}

/// Reads a mapping key and fails, with a marker, when the mapping already had it.
struct KeyOnce<'a>(&'a mut std::collections::HashSet<String>);

impl KeyOnce<'_> {
    fn check<E: de::Error>(self, key: String) -> Result<(), E> {
        if self.0.insert(key.clone()) {
            Ok(())
        } else {
            Err(E::custom(format!("{DUP_MARK}{key}{DUP_MARK}")))
        }
    }
}

impl<'de> DeserializeSeed<'de> for KeyOnce<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyOnce<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.check(v.to_string())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.check(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.check(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.check(v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.check(v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.check("null".into())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_key_names_its_line() {
        let text = "name: a\ncluster:\n  create: true\n  version: \"1.33\"\n  create: false\n";
        assert_eq!(duplicate_key(text), Some(("create".to_string(), 5)));
        assert_eq!(duplicate_key("name: a\nregion: x\n"), None);
        assert_eq!(
            duplicate_key("a:\n  - {x: 1}\n  - {x: 2, x: 3}\n"),
            Some(("x".to_string(), 3))
        );
    }

    #[test]
    fn field_lists_come_from_the_structs() {
        let Shape::Struct(fields) = shape_at(&keys(&["cluster"])) else {
            panic!("cluster is a struct");
        };
        assert!(fields.contains(&"nodegroups"));
        let ng = [
            Seg::Key("cluster".into()),
            Seg::Key("nodegroups".into()),
            Seg::Index(3),
        ];
        let Shape::Struct(fields) = shape_at(&ng) else {
            panic!("a nodegroup is a struct");
        };
        assert!(fields.contains(&"instance_types"));
        assert!(matches!(shape_at(&keys(&["tags"])), Shape::FreeMap));
        assert!(matches!(shape_at(&keys(&["region"])), Shape::Leaf));
    }

    #[test]
    fn unknown_keys_carry_paths_and_suggestions() {
        let tree: Value = serde_yaml_ng::from_str(
            "name: a\nregoin: x\ncluster:\n  nodegroups:\n    - name: ng\n      instnce_types: [m5.large]\ntags:\n  anything: goes\n",
        )
        .unwrap();
        let found = unknown_keys(&tree);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(show(&found[0].path), "regoin");
        assert_eq!(found[0].suggestion, Some("region"));
        assert_eq!(show(&found[1].path), "cluster.nodegroups[0].instnce_types");
        assert_eq!(found[1].suggestion, Some("instance_types"));
        assert_eq!(did_you_mean("zzzzzz", &["region", "name"]), None);
    }

    #[test]
    fn lines_are_found_for_keys_values_and_list_items() {
        let text = "# comment\nname: a\ncluster:\n  version: \"1.33\"\n  nodegroups:\n    - name: one\n    - name: two\n      min_size: 3\nflow: {a: 1, b: [x, y]}\n";
        let ng1 = |k: &str| {
            vec![
                Seg::Key("cluster".into()),
                Seg::Key("nodegroups".into()),
                Seg::Index(1),
                Seg::Key(k.into()),
            ]
        };
        assert_eq!(line_of(text, &keys(&["name"]), Target::Key), Some(2));
        assert_eq!(
            line_of(text, &keys(&["cluster", "version"]), Target::Value),
            Some(4)
        );
        assert_eq!(line_of(text, &ng1("min_size"), Target::Key), Some(8));
        assert_eq!(line_of(text, &ng1("name"), Target::Value), Some(7));
        assert_eq!(line_of(text, &keys(&["flow", "b"]), Target::Key), Some(9));
        assert_eq!(line_of(text, &keys(&["missing"]), Target::Key), None);
        assert_eq!(line_of(text, &ng1("absent"), Target::Key), None);
    }

    #[test]
    fn set_makes_intermediate_mappings() {
        let mut tree: Value = serde_yaml_ng::from_str("name: a\ncluster: ~\n").unwrap();
        set(&mut tree, &keys(&["cluster", "create"]), Value::Bool(false));
        set(
            &mut tree,
            &keys(&["amp", "alerts", "p99_latency_ms"]),
            Value::from(9),
        );
        assert_eq!(
            get(&tree, &keys(&["cluster", "create"])),
            Some(&Value::Bool(false))
        );
        assert_eq!(
            get(&tree, &keys(&["amp", "alerts", "p99_latency_ms"])),
            Some(&Value::from(9))
        );
    }

    #[test]
    fn empty_sections_mean_defaults() {
        let mut tree: Value =
            serde_yaml_ng::from_str("name: a\ngrafana:\ntags:\namp:\n  alias:\n").unwrap();
        drop_empty_sections(&mut tree);
        assert!(get(&tree, &keys(&["grafana"])).is_none());
        assert!(get(&tree, &keys(&["tags"])).is_none());
        assert_eq!(get(&tree, &keys(&["amp", "alias"])), Some(&Value::Null));
    }
}
