//! IAM operations more than one step needs: deleting a role meshctl owns with everything
//! attached to it, with IAM's concurrent-modification retries.

use aws_sdk_iam::Client;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::retry::{Backoff, Retrying, error_code, iam_transient, retry};
use crate::aws::sdk_error;
use crate::engine::StepCtx;
use crate::error::Error;

/// Whether IAM answered that the role, policy or provider does not exist.
pub fn no_such_entity<E: ProvideErrorMetadata, R>(
    err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> bool {
    matches!(
        error_code(err),
        Some("NoSuchEntity" | "NoSuchEntityException")
    )
}

/// IAM's backoff, capped by the run's poll interval (tests make it short).
pub fn backoff(ctx: &StepCtx) -> Backoff {
    Backoff::IAM.capped(ctx.options.poll_interval)
}

/// Tell the user about each retry of `what`.
pub fn say_retry(ctx: &StepCtx, what: &str) -> impl FnMut(&Retrying) {
    let progress = ctx.progress.clone();
    let what = what.to_string();
    move |r: &Retrying| progress.message(&format!("{what}: {r}"))
}

/// Delete inline policy `name` of `role`; `false` when it was not there.
pub async fn delete_policy(
    ctx: &StepCtx,
    client: &Client,
    role: &str,
    name: &str,
) -> Result<bool, Error> {
    let out = retry(
        backoff(ctx),
        |e| iam_transient(e, false),
        say_retry(ctx, &format!("deleting inline policy {name} of {role}")),
        || {
            client
                .delete_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
        },
    )
    .await;
    match out {
        Ok(_) => Ok(true),
        Err(e) if no_such_entity(&e) => Ok(false),
        Err(e) => Err(sdk_error("iam", "DeleteRolePolicy", &e)),
    }
}

/// Delete a role meshctl owns: its inline policies, its attached policies, then the role.
/// `false` when it was already gone.
pub async fn delete_role(ctx: &StepCtx, client: &Client, role: &str) -> Result<bool, Error> {
    match client.get_role().role_name(role).send().await {
        Ok(_) => {}
        Err(e) if no_such_entity(&e) => {
            return Ok(false);
        }
        Err(e) => return Err(sdk_error("iam", "GetRole", &e)),
    }
    ctx.progress.message(&format!("deleting IAM role {role}"));
    let mut inline = vec![];
    let mut pages = client
        .list_role_policies()
        .role_name(role)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("iam", "ListRolePolicies", &e))?;
        inline.extend(page.policy_names().iter().cloned());
    }
    for name in inline {
        delete_policy(ctx, client, role, &name).await?;
    }
    let mut attached = vec![];
    let mut pages = client
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk_error("iam", "ListAttachedRolePolicies", &e))?;
        attached.extend(
            page.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_string)),
        );
    }
    for arn in attached {
        retry(
            backoff(ctx),
            |e| iam_transient(e, false),
            say_retry(ctx, &format!("detaching {arn} from {role}")),
            || {
                client
                    .detach_role_policy()
                    .role_name(role)
                    .policy_arn(&arn)
                    .send()
            },
        )
        .await
        .map_err(|e| sdk_error("iam", "DetachRolePolicy", &e))?;
    }
    let out = retry(
        backoff(ctx),
        |e| iam_transient(e, false),
        say_retry(ctx, &format!("deleting IAM role {role}")),
        || client.delete_role().role_name(role).send(),
    )
    .await;
    match out {
        Ok(_) => Ok(true),
        Err(e) if no_such_entity(&e) => Ok(false),
        Err(e) => Err(sdk_error("iam", "DeleteRole", &e)),
    }
}
