//! A tiny TCP proxy on 127.0.0.1 in front of moto that slows a meshctl run down, so a test
//! can observe it while it holds the stack lock.
//!
//! Each accepted connection waits for the gate to be open, then a fixed delay, then is
//! forwarded byte for byte to the upstream. A test that needs a run to stay inside its lock
//! starts the proxy with the gate closed: the run then blocks on its first AWS call, which
//! meshctl only makes after taking the lock, until [`SlowProxy::open`] is called. That makes
//! the ordering deterministic without relying on how long anything takes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct SlowProxy {
    addr: SocketAddr,
    gate: watch::Sender<bool>,
    accepted: Arc<AtomicUsize>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl SlowProxy {
    /// Forward to `upstream` (`http://127.0.0.1:PORT`), delaying each connection by `delay`.
    /// With `gate_open == false`, connections wait until [`SlowProxy::open`].
    pub fn start(upstream: &str, delay: Duration, gate_open: bool) -> SlowProxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|e| panic!("upstream `{upstream}` is not http://IP:PORT: {e}"));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the proxy");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind the proxy on 127.0.0.1");
        let addr = listener.local_addr().expect("proxy address");
        let (gate, gate_rx) = watch::channel(gate_open);
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        runtime.spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    // Transient (e.g. out of descriptors): try again shortly.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let mut gate_rx = gate_rx.clone();
                tokio::spawn(async move {
                    if gate_rx.wait_for(|open| *open).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(delay).await;
                    forward(inbound, upstream).await;
                });
            }
        });
        SlowProxy {
            addr,
            gate,
            accepted,
            runtime: Some(runtime),
        }
    }

    /// The endpoint to give meshctl (`AWS_ENDPOINT_URL`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Let waiting and future connections through.
    pub fn open(&self) {
        self.gate.send_replace(true);
    }

    /// How many connections the proxy has accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn forward(mut inbound: TcpStream, upstream: SocketAddr) {
    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
}

impl Drop for SlowProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
