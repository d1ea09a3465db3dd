//! A shim on 127.0.0.1 in front of moto for the EC2 and ELBv2 query APIs: it forwards every
//! request unchanged, records the `Action` of each (so a test can count mutating calls), and
//! can answer chosen delete calls with AWS's `DependencyViolation` error instead, the first N
//! times or until told to stop. moto does not model most of EC2's dependency checks (a subnet
//! with a network interface in it, for one), which AWS enforces on `DeleteSubnet`,
//! `DeleteVpc` and `DeleteSecurityGroup`.
//!
//! One request per connection: the answer carries `Connection: close`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A delete call to refuse: `action` with parameter `param` = `value`.
#[derive(Debug, Clone)]
struct Fault {
    action: String,
    param: String,
    value: String,
    /// How many more times to refuse; `None`: until [`Ec2Shim::clear_faults`].
    remaining: Option<u32>,
}

#[derive(Default)]
struct State {
    /// Report every NAT gateway that moto calls available as still pending (moto makes them
    /// available at once; AWS takes a minute or two).
    nat_pending: bool,
    /// `(action, parameters)` of every request, in arrival order.
    calls: Vec<(String, Vec<(String, String)>)>,
    faults: Vec<Fault>,
}

pub struct Ec2Shim {
    pub url: String,
    state: Arc<Mutex<State>>,
}

/// Whether an EC2/ELBv2 action changes something.
pub fn is_mutating(action: &str) -> bool {
    const READS: [&str; 3] = ["Describe", "Get", "List"];
    !READS.iter().any(|p| action.starts_with(p))
}

impl Ec2Shim {
    /// Forward to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> Ec2Shim {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let state = shared.clone();
                let upstream = upstream.clone();
                std::thread::spawn(move || {
                    let _ = handle(stream, &upstream, &state);
                });
            }
        });
        Ec2Shim { url, state }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Answer `action` calls whose `param` is `value` with `DependencyViolation`: `times`
    /// times, or (with `None`) until [`Ec2Shim::clear_faults`].
    pub fn refuse(&self, action: &str, param: &str, value: &str, times: Option<u32>) {
        self.lock().faults.push(Fault {
            action: action.into(),
            param: param.into(),
            value: value.into(),
            remaining: times,
        });
    }

    /// While `on`, NAT gateways moto reports as available are reported as pending instead.
    pub fn hold_nat_gateways_pending(&self, on: bool) {
        self.lock().nat_pending = on;
    }

    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// How many calls have been seen so far (a mark for [`Ec2Shim::actions_since`]).
    pub fn mark(&self) -> usize {
        self.lock().calls.len()
    }

    /// The actions seen since `mark`, in order.
    pub fn actions_since(&self, mark: usize) -> Vec<String> {
        self.lock().calls[mark..]
            .iter()
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// How many `action` calls named `value` in `param` were seen (refused ones included).
    pub fn count(&self, action: &str, param: &str, value: &str) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|(a, params)| {
                a == action && params.iter().any(|(k, v)| k == param && v == value)
            })
            .count()
    }
}

fn handle(client: TcpStream, upstream: &str, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = vec![];
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let action = params
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let (refused, nat_pending) = {
        let mut st = state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let nat_pending = st.nat_pending;
        st.calls.push((action.clone(), params.clone()));
        let hit = st.faults.iter_mut().find(|f| {
            f.action == action
                && f.remaining != Some(0)
                && params.iter().any(|(k, v)| *k == f.param && *v == f.value)
        });
        let refused = match hit {
            Some(f) => {
                if let Some(n) = f.remaining.as_mut() {
                    *n -= 1;
                }
                Some(f.value.clone())
            }
            None => None,
        };
        (refused, nat_pending)
    };
    let mut client = client;
    if let Some(id) = refused {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>DependencyViolation</Code><Message>The {kind} '{id}' has dependencies and cannot be deleted.</Message></Error></Errors><RequestID>5f2b1d0e-0000-4000-8000-000000000000</RequestID></Response>",
            kind = action.trim_start_matches("Delete").to_ascii_lowercase(),
        );
        let out = format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/xml;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
            xml.len()
        );
        client.write_all(out.as_bytes())?;
        return client.flush();
    }
    // Forward the request as it came, asking moto to close the connection after answering.
    let mut up = TcpStream::connect(upstream)?;
    let mut head = request_line;
    for (k, v) in &headers {
        if k.eq_ignore_ascii_case("connection") {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&body)?;
    up.flush()?;
    let mut answer = vec![];
    up.read_to_end(&mut answer)?;
    if nat_pending && action.contains("NatGateway") {
        // Same length, so Content-Length still holds: whitespace between XML elements.
        let text = String::from_utf8_lossy(&answer)
            .replace("<state>available</state>", "<state>pending</state>  ");
        answer = text.into_bytes();
    }
    // Tell the client the connection ends here too.
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(answer.len());
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let mut out = String::new();
    for (i, line) in head.split("\r\n").enumerate() {
        if i > 0 && line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    client.write_all(out.as_bytes())?;
    client.write_all(&answer[(split + 4).min(answer.len())..])?;
    client.flush()
}
