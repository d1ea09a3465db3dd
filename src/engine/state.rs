//! Where a stack's ledger, state and lock live: a local directory (default `.meshctl/`) or
//! S3 (`s3://bucket/prefix`), which uses conditional writes for the lock.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::StepId;
use crate::error::Error;

/// A small key/value store for one stack.
#[async_trait]
pub trait StateStore: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error>;
    /// Write `body` durably: when this returns, a crash does not lose it.
    async fn put(&self, key: &str, body: &[u8]) -> Result<(), Error>;
    /// Create `key` only if it does not exist. Returns `false` when it already existed.
    async fn put_if_absent(&self, key: &str, body: &[u8]) -> Result<bool, Error>;
    async fn delete(&self, key: &str) -> Result<(), Error>;
    /// Where this store is, for messages (`.meshctl/demo`, `s3://bucket/prefix/demo`).
    fn location(&self) -> String;
}

/// Open the store named by the config's `state` value for `stack`.
pub async fn open(
    state: &str,
    stack: &str,
    sdk: Option<&aws_types::SdkConfig>,
) -> Result<Arc<dyn StateStore>, Error> {
    if let Some(rest) = state.strip_prefix("s3://") {
        let (bucket, prefix) = match rest.split_once('/') {
            Some((b, p)) => (b.to_string(), p.trim_matches('/').to_string()),
            None => (rest.to_string(), String::new()),
        };
        let sdk = sdk.ok_or(Error::NoCredentials)?;
        let prefix = if prefix.is_empty() {
            stack.to_string()
        } else {
            format!("{prefix}/{stack}")
        };
        Ok(Arc::new(S3Store {
            client: crate::aws::s3_client(sdk),
            bucket,
            prefix,
        }))
    } else {
        Ok(Arc::new(LocalStore {
            dir: PathBuf::from(state).join(stack),
        }))
    }
}

/// A directory holding one file per key.
pub struct LocalStore {
    pub dir: PathBuf,
}

impl LocalStore {
    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    fn err(&self, message: impl std::fmt::Display) -> Error {
        Error::State {
            location: self.location(),
            message: message.to_string(),
        }
    }
}

#[async_trait]
impl StateStore for LocalStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        match std::fs::read(self.path(key)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err(format!("reading {key}: {e}"))),
        }
    }

    async fn put(&self, key: &str, body: &[u8]) -> Result<(), Error> {
        std::fs::create_dir_all(&self.dir).map_err(|e| self.err(e))?;
        let tmp = self.path(&format!(".{key}.tmp"));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(body)?;
            f.sync_all()?;
            std::fs::rename(&tmp, self.path(key))?;
            // Make the rename itself durable.
            std::fs::File::open(&self.dir)?.sync_all()
        };
        write().map_err(|e| self.err(format!("writing {key}: {e}")))
    }

    async fn put_if_absent(&self, key: &str, body: &[u8]) -> Result<bool, Error> {
        std::fs::create_dir_all(&self.dir).map_err(|e| self.err(e))?;
        // Write the whole body under a private name, then hard-link it into place: the link
        // fails if `key` exists, and nobody ever sees `key` empty or half written (another run
        // reading the lock between an exclusive create and its write would find it unreadable).
        let tmp = self.path(&format!(
            ".{key}.{}-{:08x}.tmp",
            std::process::id(),
            rand::random::<u32>()
        ));
        let linked = (|| -> std::io::Result<bool> {
            let mut f = std::fs::File::create_new(&tmp)?;
            f.write_all(body)?;
            f.sync_all()?;
            match std::fs::hard_link(&tmp, self.path(key)) {
                Ok(()) => {
                    std::fs::File::open(&self.dir)?.sync_all()?;
                    Ok(true)
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                Err(e) => Err(e),
            }
        })();
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(created) => return Ok(created),
            // No hard links on this file system: fall back to an exclusive create.
            Err(e) => tracing::debug!("cannot link {key} into {}: {e}", self.dir.display()),
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.path(key))
        {
            Ok(mut f) => {
                f.write_all(body)
                    .and_then(|_| f.sync_all())
                    .map_err(|e| self.err(format!("writing {key}: {e}")))?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(self.err(format!("creating {key}: {e}"))),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        match std::fs::remove_file(self.path(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.err(format!("deleting {key}: {e}"))),
        }
    }

    fn location(&self) -> String {
        self.dir.display().to_string()
    }
}

/// Objects under `s3://bucket/prefix/<stack>/`. The lock uses `If-None-Match: *`.
pub struct S3Store {
    pub client: aws_sdk_s3::Client,
    pub bucket: String,
    pub prefix: String,
}

impl S3Store {
    /// An S3 error as a meshctl error: a missing bucket is a configuration problem (exit 2);
    /// anything else is classified like every AWS call, naming the object.
    fn sdk_err<E, R>(
        &self,
        operation: &'static str,
        doing: &str,
        key: &str,
        e: &aws_sdk_s3::error::SdkError<E, R>,
    ) -> Error
    where
        E: std::error::Error + aws_smithy_types::error::metadata::ProvideErrorMetadata + 'static,
        R: std::fmt::Debug,
    {
        let c = crate::aws::errors::classify(e);
        if c.code.as_deref() == Some("NoSuchBucket") {
            return Error::StateBucketMissing {
                bucket: self.bucket.clone(),
            };
        }
        Error::AwsCall {
            service: "s3",
            operation,
            kind: c.kind,
            message: format!("{doing} {}/{key}: {}", self.location(), c.message),
            help: c.kind.help().to_string(),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}/{key}", self.prefix)
    }

    fn err(&self, message: impl std::fmt::Display) -> Error {
        Error::State {
            location: self.location(),
            message: message.to_string(),
        }
    }
}

#[async_trait]
impl StateStore for S3Store {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .send()
            .await
        {
            Ok(out) => {
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| self.err(format!("reading {key}: {e}")))?;
                Ok(Some(bytes.to_vec()))
            }
            Err(e) => {
                if e.as_service_error().is_some_and(|se| se.is_no_such_key()) {
                    Ok(None)
                } else {
                    Err(self.sdk_err("GetObject", "reading", key, &e))
                }
            }
        }
    }

    async fn put(&self, key: &str, body: &[u8]) -> Result<(), Error> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .body(body.to_vec().into())
            .send()
            .await
            .map_err(|e| self.sdk_err("PutObject", "writing", key, &e))?;
        Ok(())
    }

    async fn put_if_absent(&self, key: &str, body: &[u8]) -> Result<bool, Error> {
        match self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .if_none_match("*")
            .body(body.to_vec().into())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                // 412 Precondition Failed: it exists. 409: a concurrent conditional write won.
                if matches!(status, Some(412) | Some(409)) {
                    Ok(false)
                } else {
                    Err(self.sdk_err("PutObject", "creating", key, &e))
                }
            }
        }
    }

    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.key(key))
            .send()
            .await
            .map_err(|e| self.sdk_err("DeleteObject", "deleting", key, &e))?;
        Ok(())
    }

    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}

/// What each step left behind for later steps and for `status`: ids and URLs, never secrets.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StackStateDoc {
    pub stack: String,
    pub steps: BTreeMap<StepId, AppliedStep>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AppliedStep {
    pub applied_at: DateTime<Utc>,
    pub outputs: BTreeMap<String, String>,
    /// The region the step's resources live in (absent in states written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The AWS account the step's resources live in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Why the step is not finished (e.g. `--no-wait` skipped work); absent when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

/// Where a step's resources live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub region: String,
    /// Empty when unknown (offline).
    pub account: String,
}

/// A step the state places somewhere other than where this command runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misplaced {
    pub step: StepId,
    pub region: Option<String>,
    pub account: Option<String>,
}

const STATE_KEY: &str = "state.json";

/// Shared handle to the stack's state document.
#[derive(Clone)]
pub struct StackState {
    store: Arc<dyn StateStore>,
    doc: Arc<Mutex<StackStateDoc>>,
}

impl StackState {
    pub async fn load(store: Arc<dyn StateStore>, stack: &str) -> Result<StackState, Error> {
        let doc = match store.get(STATE_KEY).await? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::State {
                location: store.location(),
                message: format!("{STATE_KEY} is not valid: {e}"),
            })?,
            None => StackStateDoc {
                stack: stack.to_string(),
                steps: BTreeMap::new(),
            },
        };
        Ok(StackState {
            store,
            doc: Arc::new(Mutex::new(doc)),
        })
    }

    /// A state that is never written (for offline plans).
    pub fn in_memory(stack: &str) -> StackState {
        StackState {
            store: Arc::new(MemoryStore::default()),
            doc: Arc::new(Mutex::new(StackStateDoc {
                stack: stack.to_string(),
                steps: BTreeMap::new(),
            })),
        }
    }

    pub async fn is_applied(&self, step: StepId) -> bool {
        self.doc.lock().await.steps.contains_key(&step)
    }

    /// Steps applied completely (an incomplete step is not a prerequisite met).
    pub async fn applied_steps(&self) -> Vec<StepId> {
        self.doc
            .lock()
            .await
            .steps
            .iter()
            .filter(|(_, s)| s.incomplete.is_none())
            .map(|(id, _)| *id)
            .collect()
    }

    /// Why `step` is incomplete, when its last apply skipped work.
    pub async fn incomplete(&self, step: StepId) -> Option<String> {
        self.doc
            .lock()
            .await
            .steps
            .get(&step)
            .and_then(|s| s.incomplete.clone())
    }

    /// Applied steps whose resources live in another region or account than `here`. A
    /// recorded value is compared only when both sides know it.
    pub async fn misplaced(&self, here: &Placement) -> Vec<Misplaced> {
        let doc = self.doc.lock().await;
        doc.steps
            .iter()
            .filter_map(|(id, s)| {
                let region = s.region.as_ref().filter(|r| **r != here.region);
                let account = s
                    .account
                    .as_ref()
                    .filter(|a| !a.is_empty() && !here.account.is_empty() && **a != here.account);
                (region.is_some() || account.is_some()).then(|| Misplaced {
                    step: *id,
                    region: s.region.clone(),
                    account: s.account.clone(),
                })
            })
            .collect()
    }

    pub async fn output(&self, step: StepId, key: &str) -> Option<String> {
        self.doc
            .lock()
            .await
            .steps
            .get(&step)
            .and_then(|s| s.outputs.get(key).cloned())
    }

    /// Record that `step` was applied in `placement`; `incomplete` says what it skipped.
    pub async fn set_applied(
        &self,
        step: StepId,
        outputs: BTreeMap<String, String>,
        placement: &Placement,
        incomplete: Option<String>,
    ) -> Result<(), Error> {
        let mut doc = self.doc.lock().await;
        doc.steps.insert(
            step,
            AppliedStep {
                applied_at: Utc::now(),
                outputs,
                region: Some(placement.region.clone()),
                account: Some(placement.account.clone()).filter(|a| !a.is_empty()),
                incomplete,
            },
        );
        self.save(&doc).await
    }

    pub async fn clear(&self, step: StepId) -> Result<(), Error> {
        let mut doc = self.doc.lock().await;
        if doc.steps.remove(&step).is_some() {
            self.save(&doc).await?;
        }
        Ok(())
    }

    async fn save(&self, doc: &StackStateDoc) -> Result<(), Error> {
        let body = serde_json::to_vec_pretty(doc).expect("state serialises");
        self.store.put(STATE_KEY, &body).await
    }
}

/// A store in memory: for offline plans and unit tests.
#[derive(Default)]
pub struct MemoryStore {
    entries: std::sync::Mutex<BTreeMap<String, Vec<u8>>>,
}

#[async_trait]
impl StateStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.entries.lock().unwrap().get(key).cloned())
    }
    async fn put(&self, key: &str, body: &[u8]) -> Result<(), Error> {
        self.entries
            .lock()
            .unwrap()
            .insert(key.to_string(), body.to_vec());
        Ok(())
    }
    async fn put_if_absent(&self, key: &str, body: &[u8]) -> Result<bool, Error> {
        let mut e = self.entries.lock().unwrap();
        if e.contains_key(key) {
            return Ok(false);
        }
        e.insert(key.to_string(), body.to_vec());
        Ok(true)
    }
    async fn delete(&self, key: &str) -> Result<(), Error> {
        self.entries.lock().unwrap().remove(key);
        Ok(())
    }
    fn location(&self) -> String {
        "memory".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_put_if_absent_creates_once_with_the_whole_body() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore {
            dir: dir.path().join("demo"),
        };
        assert!(store.put_if_absent("lock.json", b"first").await.unwrap());
        assert!(!store.put_if_absent("lock.json", b"second").await.unwrap());
        assert_eq!(
            store.get("lock.json").await.unwrap().as_deref(),
            Some(&b"first"[..])
        );
        let names: Vec<_> = std::fs::read_dir(&store.dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["lock.json"], "no temporary file is left behind");
        store.delete("lock.json").await.unwrap();
        assert!(store.put_if_absent("lock.json", b"third").await.unwrap());
    }
}
