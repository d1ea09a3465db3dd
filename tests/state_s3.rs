//! The S3 state backend against moto: where state and ledger land, and that the lock is an
//! exclusive conditional create (`If-None-Match: *`).

use crate::support;

use std::sync::Arc;

use meshctl::Error;
use meshctl::engine::lock::StackLock;
use meshctl::engine::state::{S3Store, StateStore};
use support::{Stack, block_on, create_bucket, get_object, live_tagged_workspaces, s3, unique};

#[test]
fn amp_keeps_its_state_and_ledger_in_s3() {
    let bucket = unique("state-s3-run");
    block_on(create_bucket(&bucket));
    let stack = Stack::builder("state_s3_run")
        .state(format!("s3://{bucket}/ci"))
        .build();

    let run = stack.run_json(&["amp", "--yes"]);
    run.expect_code(0);
    let report = run.json();
    let ws_id = report["steps"][0]["outputs"]["workspace_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no workspace_id output: {report:#}"))
        .to_string();
    let owned = block_on(live_tagged_workspaces(&stack.name));
    assert_eq!(owned.len(), 1, "{owned:#?}");
    assert_eq!(owned[0].id, ws_id);

    let key = |k: &str| format!("ci/{}/{k}", stack.name);
    let state = block_on(get_object(&bucket, &key("state.json")))
        .unwrap_or_else(|| panic!("s3://{bucket}/{} exists", key("state.json")));
    let state: serde_json::Value = serde_json::from_slice(&state).expect("state.json is JSON");
    assert_eq!(state["stack"], stack.name.as_str(), "{state:#}");
    assert_eq!(
        state["steps"]["amp"]["outputs"]["workspace_id"],
        ws_id.as_str(),
        "{state:#}"
    );

    let ledger = block_on(get_object(&bucket, &key("ledger.json")))
        .unwrap_or_else(|| panic!("s3://{bucket}/{} exists", key("ledger.json")));
    let ledger: serde_json::Value = serde_json::from_slice(&ledger).expect("ledger.json is JSON");
    assert_eq!(ledger["status"], "completed", "{ledger:#}");
    let resources = ledger["resources"].as_array().expect("resources");
    assert!(
        resources
            .iter()
            .any(|r| r["kind"] == "amp-workspace" && r["id"] == ws_id.as_str()),
        "the ledger records the created workspace: {ledger:#}"
    );

    assert!(
        block_on(get_object(&bucket, &key("lock.json"))).is_none(),
        "the lock is released after the run"
    );
    assert!(
        !stack.path().join(".meshctl").exists(),
        "nothing is written to the local state directory"
    );
}

fn store(client: aws_sdk_s3::Client, bucket: &str, stack: &str) -> Arc<dyn StateStore> {
    Arc::new(S3Store {
        client,
        bucket: bucket.to_string(),
        prefix: format!("ci/{stack}"),
    })
}

#[tokio::test]
async fn moto_honours_if_none_match_on_put_object() {
    // The S3 lock relies on this; if moto ignored it, the lock tests below would prove nothing.
    let bucket = unique("state-s3-cond");
    create_bucket(&bucket).await;
    let client = s3().await;
    let put = || {
        client
            .put_object()
            .bucket(&bucket)
            .key("probe")
            .if_none_match("*")
            .body(b"x".to_vec().into())
            .send()
    };
    put().await.expect("the first conditional create succeeds");
    let err = put()
        .await
        .expect_err("a second conditional create must fail");
    let status = err.raw_response().map(|r| r.status().as_u16());
    assert_eq!(
        status,
        Some(412),
        "412 Precondition Failed on an existing key: {err:?}"
    );
}

#[tokio::test]
async fn s3_lock_is_exclusive_until_released() {
    let bucket = unique("state-s3-lock");
    create_bucket(&bucket).await;
    let stack = unique("state_s3_lock");
    let store = store(s3().await, &bucket, &stack);

    assert!(store.put_if_absent("probe", b"1").await.unwrap());
    assert!(
        !store.put_if_absent("probe", b"2").await.unwrap(),
        "an existing key is not overwritten"
    );
    assert_eq!(
        store.get("probe").await.unwrap().as_deref(),
        Some(&b"1"[..])
    );

    let held = StackLock::acquire(store.clone(), &stack, "up", false)
        .await
        .expect("the first acquire succeeds");
    let lock_key = format!("ci/{stack}/lock.json");
    let body = get_object(&bucket, &lock_key)
        .await
        .expect("lock.json is in the bucket");
    let info: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(info["pid"], std::process::id(), "{info:#}");

    // A second acquire, as from another run on another machine, through its own client.
    let other = store_for_other_run(&bucket, &stack).await;
    match StackLock::acquire(other.clone(), &stack, "amp", false).await {
        Err(Error::Locked { stack: s, holder }) => {
            assert_eq!(s, stack);
            assert!(holder.contains("`meshctl up`"), "{holder}");
            assert!(
                holder.contains(&format!("(pid {})", std::process::id())),
                "{holder}"
            );
        }
        Err(e) => panic!("expected Error::Locked, got {e}"),
        Ok(_) => panic!("a second acquire must fail while the lock is held"),
    }
    assert!(
        get_object(&bucket, &lock_key).await.is_some(),
        "the holder's lock is untouched"
    );

    held.release().await.expect("release");
    assert!(
        get_object(&bucket, &lock_key).await.is_none(),
        "release deletes lock.json"
    );

    let again = StackLock::acquire(other, &stack, "amp", false)
        .await
        .expect("after release the lock can be taken again");
    let body = get_object(&bucket, &lock_key)
        .await
        .expect("lock.json again");
    let info: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(info["command"], "amp", "{info:#}");
    again.release().await.unwrap();
}

async fn store_for_other_run(bucket: &str, stack: &str) -> Arc<dyn StateStore> {
    store(s3().await, bucket, stack)
}
