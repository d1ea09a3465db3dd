//! Bearer tokens for EKS, refreshed before they expire: a `tower` layer in front of the kube
//! client sets `Authorization` on every request from a [`TokenSource`], so a run that lasts
//! longer than a token (15 minutes) keeps working.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;

use aws_credential_types::Credentials;
use futures::future::{Either, Ready, ready};
use http::{HeaderValue, Request, header::AUTHORIZATION};
use tower::{BoxError, Layer, Service};

use super::error::KubeError;
use crate::aws::eks_token::{self, EksToken};

/// Gives the bearer token to send now.
pub trait TokenSource: Send + Sync {
    fn token(&self) -> Result<String, KubeError>;
}

/// A clock, injectable so tests can age tokens without sleeping.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Mints EKS tokens with the given credentials and reuses one until it needs a refresh.
pub struct EksTokenSource {
    credentials: Credentials,
    region: String,
    cluster: String,
    clock: Clock,
    current: Mutex<Option<EksToken>>,
}

impl EksTokenSource {
    pub fn new(credentials: Credentials, region: &str, cluster: &str) -> EksTokenSource {
        EksTokenSource::with_clock(credentials, region, cluster, Arc::new(SystemTime::now))
    }

    pub fn with_clock(
        credentials: Credentials,
        region: &str,
        cluster: &str,
        clock: Clock,
    ) -> EksTokenSource {
        EksTokenSource {
            credentials,
            region: region.to_string(),
            cluster: cluster.to_string(),
            clock,
            current: Mutex::new(None),
        }
    }
}

impl TokenSource for EksTokenSource {
    fn token(&self) -> Result<String, KubeError> {
        let now = (self.clock)();
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = current.as_ref()
            && !t.needs_refresh(now.into())
        {
            return Ok(t.secret().to_string());
        }
        let fresh =
            eks_token::mint(&self.credentials, &self.region, &self.cluster, now).map_err(|e| {
                KubeError::Token {
                    cluster: self.cluster.clone(),
                    message: e.to_string(),
                }
            })?;
        let secret = fresh.secret().to_string();
        *current = Some(fresh);
        Ok(secret)
    }
}

/// Sets `Authorization: Bearer <token>` from a [`TokenSource`] on every request.
#[derive(Clone)]
pub struct BearerLayer {
    pub tokens: Arc<dyn TokenSource>,
}

impl<S> Layer<S> for BearerLayer {
    type Service = Bearer<S>;
    fn layer(&self, inner: S) -> Bearer<S> {
        Bearer {
            inner,
            tokens: self.tokens.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Bearer<S> {
    inner: S,
    tokens: Arc<dyn TokenSource>,
}

impl<S, B> Service<Request<B>> for Bearer<S>
where
    S: Service<Request<B>, Error = BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Either<Ready<Result<S::Response, BoxError>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let value = self.tokens.token().and_then(|t| {
            HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| KubeError::Token {
                cluster: String::new(),
                message: "the token is not a valid header value".into(),
            })
        });
        match value {
            Ok(mut v) => {
                v.set_sensitive(true);
                req.headers_mut().insert(AUTHORIZATION, v);
                Either::Right(self.inner.call(req))
            }
            Err(e) => Either::Left(ready(Err(Box::new(e) as BoxError))),
        }
    }
}
