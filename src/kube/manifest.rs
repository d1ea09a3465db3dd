//! Multi-document YAML → dynamic objects, meshctl's labels, and the order to apply them in.

use std::fmt;

use ::kube::api::{DynamicObject, GroupVersionKind};
use serde::Serialize;

use super::error::KubeError;
use crate::config::{MANAGED_BY_LABEL, STACK_TAG};

/// The label naming the component (step) an object belongs to.
pub const COMPONENT_LABEL: &str = "meshctl.io/component";
/// The value of `app.kubernetes.io/managed-by` on everything meshctl applies.
pub const MANAGED_BY: &str = "meshctl";

/// Which object, as people name it: `Deployment demo/web`, `Namespace demo`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ObjectRef {
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn of(obj: &DynamicObject) -> ObjectRef {
        let (api_version, kind) = obj
            .types
            .as_ref()
            .map(|t| (t.api_version.clone(), t.kind.clone()))
            .unwrap_or_default();
        ObjectRef {
            api_version,
            kind,
            namespace: obj.metadata.namespace.clone(),
            name: obj.metadata.name.clone().unwrap_or_default(),
        }
    }

    pub fn gvk(&self) -> GroupVersionKind {
        let (group, version) = match self.api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", self.api_version.as_str()),
        };
        GroupVersionKind::gvk(group, version, &self.kind)
    }

    /// The same object regardless of API version (what pruning compares).
    pub fn identity(&self) -> (String, String, Option<String>, String) {
        (
            self.gvk().group,
            self.kind.clone(),
            self.namespace.clone(),
            self.name.clone(),
        )
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Parse every non-empty YAML document of `text` (named `source_name` in errors).
pub fn parse(source_name: &str, text: &str) -> Result<Vec<DynamicObject>, KubeError> {
    use serde::Deserialize;
    let mut out = vec![];
    for (i, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let index = i + 1;
        let bad = |message: String| KubeError::Manifest {
            source_name: source_name.to_string(),
            index,
            message,
        };
        let value = serde_json::Value::deserialize(doc).map_err(|e| bad(e.to_string()))?;
        if value.is_null() {
            continue;
        }
        if !value.is_object() {
            return Err(bad("the document is not a mapping".into()));
        }
        for key in ["apiVersion", "kind"] {
            if !value.get(key).is_some_and(|v| v.is_string()) {
                return Err(bad(format!("`{key}` is missing or not a string")));
            }
        }
        let obj: DynamicObject = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        if obj.metadata.name.as_deref().is_none_or(str::is_empty) {
            return Err(bad("`metadata.name` is missing".into()));
        }
        out.push(obj);
    }
    Ok(out)
}

/// Add meshctl's ownership labels to `obj`.
pub fn label(obj: &mut DynamicObject, stack: &str, component: &str) {
    let labels = obj.metadata.labels.get_or_insert_with(Default::default);
    labels.insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string());
    labels.insert(STACK_TAG.to_string(), stack.to_string());
    labels.insert(COMPONENT_LABEL.to_string(), component.to_string());
}

/// The label selector of everything a stack's component owns.
pub fn component_selector(stack: &str, component: &str) -> String {
    format!("{MANAGED_BY_LABEL}={MANAGED_BY},{STACK_TAG}={stack},{COMPONENT_LABEL}={component}")
}

pub fn is_crd(r: &ObjectRef) -> bool {
    r.kind == "CustomResourceDefinition" && r.api_version.starts_with("apiextensions.k8s.io/")
}

/// Apply rank: CRDs, namespaces, then what others refer to before what refers to it;
/// custom resources and webhooks last. Deletion goes the other way.
pub fn rank(r: &ObjectRef) -> u8 {
    if is_crd(r) {
        return 0;
    }
    match (r.gvk().group.as_str(), r.kind.as_str()) {
        ("", "Namespace") => 1,
        ("", "ServiceAccount") => 2,
        ("", "Secret") | ("", "ConfigMap") => 3,
        ("rbac.authorization.k8s.io", "ClusterRole") | ("rbac.authorization.k8s.io", "Role") => 4,
        ("rbac.authorization.k8s.io", _) => 5,
        ("", "Service") => 6,
        ("apps", _) | ("", "Pod") => 7,
        ("policy", _) | ("autoscaling", _) => 8,
        ("admissionregistration.k8s.io", _) => 10,
        (g, _) if g.is_empty() || g.ends_with(".k8s.io") || !g.contains('.') => 9,
        _ => 11,
    }
}

/// Sort into apply order; objects of one rank keep their order in the manifest.
pub fn sort_for_apply(objects: &mut [DynamicObject]) {
    objects.sort_by_key(|o| rank(&ObjectRef::of(o)));
}
