//! Phase 5: delete the mesh's App Mesh resources in dependency order, after checking that no
//! pod still runs the App Mesh sidecar.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::Session;
use super::inventory::{self, AppMeshResource};
use super::model::SidecarPod;
use crate::aws::{AwsErrorKind, sdk_error};
use crate::error::Error;

/// The plan or result of `remove`.
#[derive(Debug, Clone, Serialize)]
pub struct RemoveRun {
    pub kind: &'static str,
    pub mesh: String,
    pub dry_run: bool,
    /// In deletion order.
    pub resources: Vec<Removal>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Removal {
    pub resource: AppMeshResource,
    /// `delete` (plan), `deleted`, `already gone`.
    pub op: String,
}

impl fmt::Display for RemoveRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}{}: {} App Mesh resources of mesh {}, in this order:",
            self.kind,
            if self.dry_run {
                " (dry run: nothing changed)"
            } else {
                ""
            },
            self.resources.len(),
            self.mesh
        )?;
        for r in &self.resources {
            writeln!(f, "  {:<13} {}", r.op, r.resource)?;
        }
        Ok(())
    }
}

fn pods_text(pods: &[SidecarPod]) -> String {
    pods.iter()
        .map(|p| format!("{}/{}", p.namespace, p.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `migrate appmesh remove --mesh <name>`.
pub async fn remove(s: &Session, mesh: &str) -> Result<(), Error> {
    let kube = s
        .require_kube(
            "`migrate appmesh remove` (to check that no pod still runs the App Mesh sidecar)",
        )
        .await?;
    let side = inventory::read_kube(&kube).await?;
    if !side.sidecar_pods.is_empty() {
        return Err(Error::PlanConflict {
            message: format!(
                "{} pods still run the App Mesh sidecar: {}",
                side.sidecar_pods.len(),
                pods_text(&side.sidecar_pods)
            ),
            help: format!(
                "migrate their workloads first (`meshctl migrate appmesh apply --mesh {mesh} --namespace <ns>`) and wait until the old pods are gone; nothing was deleted"
            ),
        });
    }
    let inv = inventory::read_aws(&s.aws.appmesh(), mesh).await?;
    let order = inv.deletion_order();
    let plan = RemoveRun {
        kind: "migrate appmesh remove",
        mesh: mesh.to_string(),
        dry_run: s.global.dry_run,
        resources: order
            .iter()
            .map(|r| Removal {
                resource: r.clone(),
                op: "delete".into(),
            })
            .collect(),
    };
    if s.global.dry_run {
        s.ui.emit(&plan);
        return Ok(());
    }
    if s.ui.will_ask() {
        if s.ui.format() == crate::cli::OutputFormat::Text {
            s.ui.emit(&plan);
        } else {
            s.ui.show_before_prompt(&plan);
        }
    }
    s.ui.confirm(
        &format!("Delete these {} App Mesh resources?", order.len()),
        "delete the App Mesh resources",
    )?;
    let client = s.aws.appmesh();
    let mut result = plan.clone();
    for (i, r) in order.iter().enumerate() {
        let gone = delete(&client, mesh, r).await?;
        s.ui.info(format!(
            "[{}/{}] {r}: {}",
            i + 1,
            order.len(),
            if gone { "already gone" } else { "deleted" }
        ));
        result.resources[i].op = if gone { "already gone" } else { "deleted" }.into();
    }
    // The mesh goes last; wait until App Mesh no longer knows it.
    let client2 = client.clone();
    let name = mesh.to_string();
    s.ctx
        .wait_for(
            &format!("App Mesh mesh {mesh} to be deleted"),
            Duration::from_secs(2),
            || {
                let client = client2.clone();
                let name = name.clone();
                async move {
                    match client.describe_mesh().mesh_name(&name).send().await {
                        Ok(out) => {
                            let deleted = out
                                .mesh()
                                .and_then(|m| m.status())
                                .and_then(|st| st.status())
                                .map(|c| c.as_str() == "DELETED")
                                .unwrap_or(true);
                            Ok(deleted.then_some(()))
                        }
                        Err(e) => {
                            let err = sdk_error("appmesh", "DescribeMesh", &e);
                            if err.aws_kind() == Some(AwsErrorKind::NotFound) {
                                Ok(Some(()))
                            } else {
                                Err(err)
                            }
                        }
                    }
                }
            },
        )
        .await?;
    s.ui.emit(&result);
    Ok(())
}

/// Delete one resource; `Ok(true)` when it was already gone.
async fn delete(
    client: &aws_sdk_appmesh::Client,
    mesh: &str,
    r: &AppMeshResource,
) -> Result<bool, Error> {
    macro_rules! gone {
        ($res:expr, $op:literal) => {
            match $res {
                Ok(_) => Ok(false),
                Err(e) => {
                    let err = sdk_error("appmesh", $op, &e);
                    if err.aws_kind() == Some(AwsErrorKind::NotFound) {
                        Ok(true)
                    } else {
                        Err(err)
                    }
                }
            }
        };
    }
    match r {
        AppMeshResource::GatewayRoute { gateway, name } => gone!(
            client
                .delete_gateway_route()
                .mesh_name(mesh)
                .virtual_gateway_name(gateway)
                .gateway_route_name(name)
                .send()
                .await,
            "DeleteGatewayRoute"
        ),
        AppMeshResource::VirtualGateway { name } => gone!(
            client
                .delete_virtual_gateway()
                .mesh_name(mesh)
                .virtual_gateway_name(name)
                .send()
                .await,
            "DeleteVirtualGateway"
        ),
        AppMeshResource::Route { router, name } => gone!(
            client
                .delete_route()
                .mesh_name(mesh)
                .virtual_router_name(router)
                .route_name(name)
                .send()
                .await,
            "DeleteRoute"
        ),
        AppMeshResource::VirtualService { name } => gone!(
            client
                .delete_virtual_service()
                .mesh_name(mesh)
                .virtual_service_name(name)
                .send()
                .await,
            "DeleteVirtualService"
        ),
        AppMeshResource::VirtualRouter { name } => gone!(
            client
                .delete_virtual_router()
                .mesh_name(mesh)
                .virtual_router_name(name)
                .send()
                .await,
            "DeleteVirtualRouter"
        ),
        AppMeshResource::VirtualNode { name } => gone!(
            client
                .delete_virtual_node()
                .mesh_name(mesh)
                .virtual_node_name(name)
                .send()
                .await,
            "DeleteVirtualNode"
        ),
        AppMeshResource::Mesh { name } => gone!(
            client.delete_mesh().mesh_name(name).send().await,
            "DeleteMesh"
        ),
    }
}
