//! Phases 2-4 in the cluster: server-side apply the translated Istio resources (component
//! `appmesh-migration`), move Deployments one at a time from the App Mesh sidecar to Istio's,
//! shift traffic to the translated routes, and roll back.
//!
//! Progress is kept in the stack's state store under `migrate-<mesh>.json`, so a re-run skips
//! workloads already migrated and `shift` / `rollback` know the current weight.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::inventory::{self, APPMESH_INJECT, ISTIO_GROUP};
use super::translate::{self, COMPONENT};
use super::{NamespaceArgs, Session, ShiftArgs};
use crate::error::Error;
use crate::kube::{ApplyOptions, Changes, Condition, FIELD_MANAGER, Kube, KubeError, ObjectRef};

/// Istio's per-pod injection switch (a pod template label).
pub const ISTIO_INJECT: &str = "sidecar.istio.io/inject";
/// The pod template annotation whose change restarts a Deployment's pods.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// Where a workload stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadStatus {
    /// Runs the Istio sidecar; its rollout finished.
    Migrated,
    /// Its rollout failed; it was switched back to App Mesh.
    SwitchedBack,
    /// `rollback` put it back on App Mesh.
    RolledBack,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadRecord {
    pub status: WorkloadStatus,
    pub at: String,
}

/// The migration's progress, kept in the state store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub mesh: String,
    pub namespace: String,
    /// The current `shift` weight (0 until shifted).
    pub weight: u8,
    /// Deployment name → where it stands.
    pub workloads: BTreeMap<String, WorkloadRecord>,
}

/// The state-store key of a mesh's migration progress.
pub fn progress_key(mesh: &str) -> String {
    format!("migrate-{mesh}.json")
}

async fn load_progress(s: &Session, mesh: &str, namespace: &str) -> Result<Progress, Error> {
    let key = progress_key(mesh);
    match s.store.get(&key).await? {
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::State {
            location: format!("{}/{key}", s.store.location()),
            message: format!("the migration progress cannot be read: {e}"),
        }),
        None => Ok(Progress {
            mesh: mesh.to_string(),
            namespace: namespace.to_string(),
            ..Progress::default()
        }),
    }
}

async fn save_progress(s: &Session, p: &Progress) -> Result<(), Error> {
    let body = serde_json::to_vec_pretty(p).map_err(|e| Error::State {
        location: s.store.location(),
        message: e.to_string(),
    })?;
    s.store.put(&progress_key(&p.mesh), &body).await
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One workload and what happens to it.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadChange {
    pub workload: String,
    /// `switch to istio`, `switch to app mesh`, `skip (migrated)`…
    pub action: String,
    /// The pod-template fields a switch sets (then the rollout is awaited).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sets: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
}

/// What switching a workload sets on its pod template.
pub fn switch_fields(to_istio: bool) -> Vec<String> {
    vec![
        format!(
            "annotation {APPMESH_INJECT}={}",
            if to_istio { "disabled" } else { "enabled" }
        ),
        format!(
            "label {ISTIO_INJECT}={}",
            if to_istio { "true" } else { "false" }
        ),
        format!("annotation {RESTARTED_AT}=<now>"),
    ]
}

/// The plan or result of `apply`, `shift` and `rollback`.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationRun {
    pub kind: &'static str,
    pub mesh: String,
    pub namespace: String,
    pub dry_run: bool,
    pub weight: u8,
    pub resources: Changes,
    pub workloads: Vec<WorkloadChange>,
}

impl fmt::Display for MigrationRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}{} mesh {} in namespace {} (weight {}% on the translated routes)",
            self.kind,
            if self.dry_run {
                " (dry run: nothing changed)"
            } else {
                ""
            },
            self.mesh,
            self.namespace,
            self.weight
        )?;
        write!(f, "{}", self.resources)?;
        writeln!(f, "workloads: {}", self.workloads.len())?;
        for w in &self.workloads {
            write!(
                f,
                "  {:<22} Deployment {}/{}",
                w.action, self.namespace, w.workload
            )?;
            if let Some(o) = &w.outcome {
                write!(f, ": {o}")?;
            } else if !w.sets.is_empty() {
                write!(f, " (pod template: {})", w.sets.join(", "))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

fn as_dynamic(objects: &[serde_json::Value]) -> Result<Vec<DynamicObject>, Error> {
    objects
        .iter()
        .map(|o| {
            serde_json::from_value(o.clone()).map_err(|e| Error::Template {
                name: "appmesh translation".into(),
                message: e.to_string(),
            })
        })
        .collect()
}

async fn require_istio(kube: &Kube) -> Result<(), Error> {
    if !inventory::group_served(kube, ISTIO_GROUP).await? {
        return Err(Error::usage(
            format!(
                "Istio is not installed in the cluster: the API server does not serve {ISTIO_GROUP}"
            ),
            "install Istio first (`meshctl istio`, phase 2 of docs/migrate-appmesh.md), then run this again",
        ));
    }
    Ok(())
}

/// A Deployment in the namespace and whether it runs under App Mesh or Istio now.
#[derive(Debug, Clone)]
struct Workload {
    name: String,
    /// The pod template already asks for Istio and not App Mesh.
    on_istio: bool,
    /// App Mesh injects it (namespace label or template annotation) or its template carries
    /// App Mesh's Envoy.
    on_appmesh: bool,
}

async fn workloads(kube: &Kube, ns: &str) -> Result<Vec<Workload>, Error> {
    let namespaces: Api<Namespace> = Api::all(kube.client().clone());
    let injected = namespaces
        .get_opt(ns)
        .await
        .map_err(|e| KubeError::from_kube("read", &format!("Namespace {ns}"), e))?
        .and_then(|n| n.metadata.labels)
        .and_then(|l| l.get(APPMESH_INJECT).cloned())
        .is_some_and(|v| v == "enabled");
    let api: Api<Deployment> = Api::namespaced(kube.client().clone(), ns);
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| KubeError::from_kube("list", &format!("Deployments in {ns}"), e))?;
    let mut out = vec![];
    for d in list.items {
        let v = serde_json::to_value(&d).unwrap_or_default();
        let template = &v["spec"]["template"];
        let annotation = template["metadata"]["annotations"][APPMESH_INJECT].as_str();
        let istio = template["metadata"]["labels"][ISTIO_INJECT].as_str() == Some("true");
        let envoy = inventory::appmesh_envoy_image(template).is_some();
        let on_appmesh =
            annotation == Some("enabled") || (injected && annotation != Some("disabled")) || envoy;
        out.push(Workload {
            name: d.metadata.name.unwrap_or_default(),
            on_istio: istio && annotation == Some("disabled"),
            on_appmesh,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Flip a Deployment's pod template to Istio (`to_istio`) or back to App Mesh, with a restart
/// annotation, by server-side apply of just those fields (forced: meshctl takes them over).
async fn switch(kube: &Kube, ns: &str, name: &str, to_istio: bool) -> Result<(), Error> {
    let body = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"template": {"metadata": {
            "labels": {ISTIO_INJECT: if to_istio { "true" } else { "false" }},
            "annotations": {
                APPMESH_INJECT: if to_istio { "disabled" } else { "enabled" },
                RESTARTED_AT: now(),
            },
        }}},
    });
    let api: Api<Deployment> = Api::namespaced(kube.client().clone(), ns);
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(|e| {
        KubeError::from_kube(
            "switch the sidecar of",
            &format!("Deployment {ns}/{name}"),
            e,
        )
    })?;
    Ok(())
}

fn deployment(ns: &str, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        namespace: Some(ns.to_string()),
        name: name.to_string(),
    }
}

/// Translate the mesh at `weight` and plan (or apply) its objects.
async fn resources(
    s: &Session,
    kube: &Kube,
    inv: &super::Inventory,
    ns: &str,
    weight: u8,
    dry_run: bool,
) -> Result<Changes, Error> {
    let mut opts = translate::Options::new(ns, &s.config.name);
    opts.weight = weight;
    let t = translate::translate(inv, &opts);
    let objects = as_dynamic(&t.objects)?;
    let options = ApplyOptions {
        force: false,
        timeout: s.global.timeout,
    };
    Ok(if dry_run {
        kube.plan(COMPONENT, &objects, &options).await?
    } else {
        kube.apply(COMPONENT, &objects, &options).await?
    })
}

/// Ask before changing anything; print the plan first.
fn confirm(s: &Session, plan: &MigrationRun, question: &str, action: &str) -> Result<(), Error> {
    if s.ui.will_ask() {
        if s.ui.format() == crate::cli::OutputFormat::Text {
            s.ui.emit(plan);
        } else {
            s.ui.show_before_prompt(plan);
        }
    }
    s.ui.confirm(question, action)
}

/// `migrate appmesh apply`.
pub async fn apply(s: &Session, a: &NamespaceArgs) -> Result<(), Error> {
    let dry_run = s.global.dry_run;
    let (inv, kube) = s.inventory(&a.mesh).await?;
    let Some(kube) = kube else {
        return Err(super::no_cluster(
            "`migrate appmesh apply`",
            inv.kubernetes_note.as_deref(),
        ));
    };
    require_istio(&kube).await?;
    let mut progress = load_progress(s, &a.mesh, &a.namespace).await?;
    progress.namespace = a.namespace.clone();
    let plan_resources = resources(s, &kube, &inv, &a.namespace, progress.weight, true).await?;
    let found = workloads(&kube, &a.namespace).await?;
    let mut plan = MigrationRun {
        kind: "migrate appmesh apply",
        mesh: a.mesh.clone(),
        namespace: a.namespace.clone(),
        dry_run,
        weight: progress.weight,
        resources: plan_resources,
        workloads: vec![],
    };
    let mut todo = vec![];
    for w in &found {
        let migrated = progress
            .workloads
            .get(&w.name)
            .is_some_and(|r| r.status == WorkloadStatus::Migrated);
        let action = if migrated || w.on_istio {
            "skip (migrated)"
        } else if w.on_appmesh {
            todo.push(w.name.clone());
            "switch to istio"
        } else {
            "skip (not on app mesh)"
        };
        plan.workloads.push(WorkloadChange {
            workload: w.name.clone(),
            action: action.into(),
            sets: if action == "switch to istio" {
                switch_fields(true)
            } else {
                vec![]
            },
            outcome: None,
        });
    }
    if dry_run {
        s.ui.emit(&plan);
        return Ok(());
    }
    if plan.resources.has_changes() || !todo.is_empty() {
        confirm(
            s,
            &plan,
            "Apply the Istio resources and switch these workloads?",
            "migrate workloads",
        )?;
    }
    let mut result = plan.clone();
    result.resources = resources(s, &kube, &inv, &a.namespace, progress.weight, false).await?;
    save_progress(s, &progress).await?;
    let total = todo.len();
    for (i, name) in todo.iter().enumerate() {
        s.ui.info(format!(
            "[{}/{total}] Deployment {}/{name}: switching from App Mesh to Istio",
            i + 1,
            a.namespace
        ));
        switch(&kube, &a.namespace, name, true).await?;
        let entry = result.workloads.iter_mut().find(|w| &w.workload == name);
        match kube
            .wait_for(
                &deployment(&a.namespace, name),
                Condition::Ready,
                s.global.timeout,
            )
            .await
        {
            Ok(()) => {
                progress.workloads.insert(
                    name.clone(),
                    WorkloadRecord {
                        status: WorkloadStatus::Migrated,
                        at: now(),
                    },
                );
                save_progress(s, &progress).await?;
                s.ui.info(format!(
                    "[{}/{total}] Deployment {}/{name}: migrated",
                    i + 1,
                    a.namespace
                ));
                if let Some(e) = entry {
                    e.outcome = Some("migrated".into());
                }
            }
            Err(e) => {
                let why = e.to_string();
                s.ui.warn(format!(
                    "Deployment {}/{name} did not roll out on Istio ({why}); switching it back to App Mesh",
                    a.namespace
                ));
                switch(&kube, &a.namespace, name, false).await?;
                progress.workloads.insert(
                    name.clone(),
                    WorkloadRecord {
                        status: WorkloadStatus::SwitchedBack,
                        at: now(),
                    },
                );
                save_progress(s, &progress).await?;
                if let Some(e) = entry {
                    e.outcome = Some("rollout failed: switched back to app mesh".into());
                }
                let done = progress
                    .workloads
                    .values()
                    .filter(|r| r.status == WorkloadStatus::Migrated)
                    .count();
                return Err(Error::Migration {
                    message: format!(
                        "Deployment {}/{name} failed its rollout with the Istio sidecar and was switched back to App Mesh: {why}",
                        a.namespace
                    ),
                    help: format!(
                        "{done} workloads are migrated and stay on Istio; find why the pods are not ready (`kubectl -n {} describe deployment {name}`), fix it and run `meshctl migrate appmesh apply --mesh {} --namespace {}` again: it resumes with this workload",
                        a.namespace, a.mesh, a.namespace
                    ),
                });
            }
        }
    }
    s.ui.emit(&result);
    Ok(())
}

/// `migrate appmesh shift --weight N`.
pub async fn shift(s: &Session, a: &ShiftArgs) -> Result<(), Error> {
    let (inv, kube) = s.inventory(&a.mesh).await?;
    let Some(kube) = kube else {
        return Err(super::no_cluster(
            "`migrate appmesh shift`",
            inv.kubernetes_note.as_deref(),
        ));
    };
    require_istio(&kube).await?;
    let mut progress = load_progress(s, &a.mesh, &a.namespace).await?;
    let plan = MigrationRun {
        kind: "migrate appmesh shift",
        mesh: a.mesh.clone(),
        namespace: a.namespace.clone(),
        dry_run: s.global.dry_run,
        weight: a.weight,
        resources: resources(s, &kube, &inv, &a.namespace, a.weight, true).await?,
        workloads: vec![],
    };
    if s.global.dry_run {
        s.ui.emit(&plan);
        return Ok(());
    }
    if plan.resources.has_changes() {
        confirm(
            s,
            &plan,
            &format!(
                "Shift {}% of the traffic to the translated routes?",
                a.weight
            ),
            "shift traffic",
        )?;
    }
    let mut result = plan.clone();
    result.resources = resources(s, &kube, &inv, &a.namespace, a.weight, false).await?;
    progress.weight = a.weight;
    progress.namespace = a.namespace.clone();
    save_progress(s, &progress).await?;
    s.ui.emit(&result);
    Ok(())
}

/// `migrate appmesh rollback`: weight 0, App Mesh injection back on every migrated workload.
pub async fn rollback(s: &Session, a: &NamespaceArgs) -> Result<(), Error> {
    let (inv, kube) = s.inventory(&a.mesh).await?;
    let Some(kube) = kube else {
        return Err(super::no_cluster(
            "`migrate appmesh rollback`",
            inv.kubernetes_note.as_deref(),
        ));
    };
    require_istio(&kube).await?;
    let mut progress = load_progress(s, &a.mesh, &a.namespace).await?;
    let found = workloads(&kube, &a.namespace).await?;
    let mut plan = MigrationRun {
        kind: "migrate appmesh rollback",
        mesh: a.mesh.clone(),
        namespace: a.namespace.clone(),
        dry_run: s.global.dry_run,
        weight: 0,
        resources: resources(s, &kube, &inv, &a.namespace, 0, true).await?,
        workloads: vec![],
    };
    let mut todo = vec![];
    for w in &found {
        let recorded = progress
            .workloads
            .get(&w.name)
            .is_some_and(|r| r.status == WorkloadStatus::Migrated);
        if recorded || w.on_istio {
            todo.push(w.name.clone());
            plan.workloads.push(WorkloadChange {
                workload: w.name.clone(),
                action: "switch to app mesh".into(),
                sets: switch_fields(false),
                outcome: None,
            });
        }
    }
    if s.global.dry_run {
        s.ui.emit(&plan);
        return Ok(());
    }
    if plan.resources.has_changes() || !todo.is_empty() {
        confirm(
            s,
            &plan,
            "Roll back: weight 0 and App Mesh injection on these workloads?",
            "roll back the migration",
        )?;
    }
    let mut result = plan.clone();
    result.resources = resources(s, &kube, &inv, &a.namespace, 0, false).await?;
    progress.weight = 0;
    save_progress(s, &progress).await?;
    let total = todo.len();
    let mut failed = vec![];
    for (i, name) in todo.iter().enumerate() {
        s.ui.info(format!(
            "[{}/{total}] Deployment {}/{name}: switching back to App Mesh",
            i + 1,
            a.namespace
        ));
        switch(&kube, &a.namespace, name, false).await?;
        progress.workloads.insert(
            name.clone(),
            WorkloadRecord {
                status: WorkloadStatus::RolledBack,
                at: now(),
            },
        );
        save_progress(s, &progress).await?;
        let outcome = match kube
            .wait_for(
                &deployment(&a.namespace, name),
                Condition::Ready,
                s.global.timeout,
            )
            .await
        {
            Ok(()) => "back on app mesh".to_string(),
            Err(e) => {
                failed.push(name.clone());
                format!("switched back, but not ready: {e}")
            }
        };
        if let Some(e) = result.workloads.iter_mut().find(|w| &w.workload == name) {
            e.outcome = Some(outcome);
        }
    }
    s.ui.emit(&result);
    if !failed.is_empty() {
        return Err(Error::Migration {
            message: format!(
                "rolled back, but these Deployments are not ready on App Mesh: {}",
                failed.join(", ")
            ),
            help: format!(
                "check their pods (`kubectl -n {} get pods`); the App Mesh injector must be running",
                a.namespace
            ),
        });
    }
    Ok(())
}
