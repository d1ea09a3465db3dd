//! The AWS adapter through the real binary: call timeouts, error classification, profiles,
//! credential sources and call logging. Failures come from local listeners on 127.0.0.1 (a
//! closed port, a listener that never answers, a tiny HTTP server answering AWS-shaped
//! errors); successes from moto.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use crate::support::{Run, Stack, moto, unique};

/// A port on 127.0.0.1 where nothing listens (bound, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    port
}

/// A listener that accepts connections and never answers; it lives as long as the test.
fn silent_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    thread::spawn(move || {
        let mut held = vec![];
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://{addr}")
}

/// An HTTP server answering every request with `status` and the AWS query-protocol (STS)
/// error document for `code`.
fn erroring_endpoint(status: u16, code: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || answer(stream, status, code));
        }
    });
    format!("http://{addr}")
}

fn answer(stream: TcpStream, status: u16, code: &str) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let doc = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>test message for {code}</Message></Error>\
         <RequestId>req-{code}</RequestId></ErrorResponse>"
    );
    let response = format!(
        "HTTP/1.1 {status} Error\r\nContent-Type: text/xml\r\nx-amzn-RequestId: req-{code}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{doc}",
        doc.len()
    );
    let mut stream = stream;
    let _ = stream.write_all(response.as_bytes());
}

fn dry_run_via(stack: &Stack, endpoint: &str, extra: &[&str]) -> Run {
    Run::from(
        stack
            .cmd_via(endpoint)
            .args(extra)
            .args(["amp", "--dry-run"])
            .output()
            .expect("meshctl runs"),
    )
}

/// No `Debug` rendering of SDK errors in what the user sees.
fn assert_no_debug_dump(run: &Run) {
    for marker in [
        "DispatchFailure",
        "ConnectorError",
        "TimeoutError",
        "ServiceError",
        "ErrorMetadata",
        "{ ",
    ] {
        assert!(
            !run.stderr.contains(marker) && !run.stdout.contains(marker),
            "`{marker}` (a Debug dump) in the output\nstdout:\n{}\nstderr:\n{}",
            run.stdout,
            run.stderr
        );
    }
}

#[test]
fn call_to_endpoint_that_never_answers_fails_within_call_timeout_naming_it() {
    let stack = Stack::new("never-answers");
    let endpoint = silent_endpoint();
    let run = dry_run_via(&stack, &endpoint, &["--call-timeout", "1s"]);
    assert_ne!(run.code, Some(0), "{run:?}");
    let host_port = endpoint.trim_start_matches("http://");
    assert!(
        run.stderr.contains(host_port) && run.stderr.contains("did not answer"),
        "the message should name {host_port} and say it did not answer:\n{}",
        run.stderr
    );
    assert!(run.stderr.contains("--call-timeout"), "{}", run.stderr);
    assert_no_debug_dump(&run);
}

#[test]
fn closed_port_is_reported_as_unreachable_not_as_rejected_credentials() {
    let stack = Stack::new("closed-port");
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let run = dry_run_via(&stack, &endpoint, &["--output", "json"]);
    run.expect_code(1);
    assert!(run.stderr.contains("cannot reach"), "{}", run.stderr);
    assert!(
        run.stderr.contains(endpoint.trim_start_matches("http://")),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("did not accept the credentials")
            && !run.stderr.contains("credentials-rejected"),
        "{}",
        run.stderr
    );
    let doc = run.json();
    assert_eq!(doc["kind"], "error");
    assert_eq!(doc["aws_kind"], "unreachable", "{doc:#}");
    assert!(
        doc["message"]
            .as_str()
            .unwrap_or_default()
            .contains("(unreachable)"),
        "{doc:#}"
    );
    assert_no_debug_dump(&run);
}

/// Each rejection AWS can send has its own kind and help line.
#[test]
fn sts_errors_are_classified_rejected_expired_denied_throttled() {
    let cases = [
        (
            403,
            "InvalidClientTokenId",
            "credentials-rejected",
            "does not recognise",
        ),
        (
            403,
            "SignatureDoesNotMatch",
            "credentials-rejected",
            "does not recognise",
        ),
        (403, "ExpiredToken", "credentials-expired", "refresh them"),
        (403, "AccessDenied", "access-denied", "lack this permission"),
        (400, "Throttling", "throttled", "throttling"),
    ];
    for (status, code, kind, help) in cases {
        let stack = Stack::new("classify");
        let endpoint = erroring_endpoint(status, code);
        let run = dry_run_via(&stack, &endpoint, &[]);
        run.expect_code(1);
        assert!(
            run.stderr.contains(&format!("({kind})")) && run.stderr.contains(code),
            "{code} should be `{kind}`:\n{}",
            run.stderr
        );
        assert!(
            run.stderr.contains(help),
            "{code}: help `{help}` missing:\n{}",
            run.stderr
        );
        assert_no_debug_dump(&run);
    }
}

#[test]
fn missing_s3_state_bucket_says_create_it_or_change_state() {
    let bucket = unique("missing-state-bucket");
    let stack = Stack::builder("missing-bucket")
        .state(format!("s3://{bucket}/x"))
        .build();
    let run = Run::from(
        stack
            .cmd()
            .args(["amp", "--dry-run"])
            .output()
            .expect("meshctl runs"),
    );
    run.expect_code(2);
    assert!(
        run.stderr.contains(&format!(
            "bucket {bucket} does not exist; create it or change `state`"
        )),
        "{}",
        run.stderr
    );
    assert_no_debug_dump(&run);
}

#[test]
fn profile_that_does_not_exist_fails_with_exit_2_naming_existing_profiles() {
    let stack = Stack::new("missing-profile");
    let config = stack.path().join("aws-config");
    let credentials = stack.path().join("aws-credentials");
    std::fs::write(&config, "[profile alpha]\nregion = us-east-1\n").expect("write config");
    std::fs::write(
        &credentials,
        "[beta]\naws_access_key_id = x\naws_secret_access_key = y\n",
    )
    .expect("write credentials");
    // Environment credentials exist too: the unknown profile must still not be ignored.
    let run = Run::from(
        stack
            .cmd()
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .args(["--profile", "does-not-exist", "amp", "--dry-run"])
            .output()
            .expect("meshctl runs"),
    );
    run.expect_code(2);
    assert!(
        run.stderr.contains("`does-not-exist` does not exist"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("`alpha`") && run.stderr.contains("`beta`"),
        "{}",
        run.stderr
    );
}

#[test]
fn explicit_profile_flag_wins_over_environment_keys() {
    let stack = Stack::new("profile-flag");
    let credentials = stack.path().join("aws-credentials");
    std::fs::write(
        &credentials,
        "[alpha]\naws_access_key_id = alpha-key\naws_secret_access_key = alpha-secret\n",
    )
    .expect("write credentials");
    let run = Run::from(
        stack
            .cmd()
            .env("AWS_CONFIG_FILE", stack.path().join("no-aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .args(["-v", "--profile", "alpha", "amp", "--dry-run"])
            .output()
            .expect("meshctl runs"),
    );
    run.expect_code(0);
    assert!(
        run.stderr.contains("AWS credentials from profile `alpha`"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("alpha-secret"),
        "the secret key was logged"
    );
}

#[test]
fn verbose_logs_each_aws_call_and_very_verbose_adds_request_ids_without_secrets() {
    let stack = Stack::new("verbose-calls");
    let secret = format!("secret-{}", unique("s"));
    let go = |flag: &str| {
        let r = Run::from(
            stack
                .cmd()
                .env("AWS_SECRET_ACCESS_KEY", &secret)
                .args([flag, "amp", "--dry-run"])
                .output()
                .expect("meshctl runs"),
        );
        r.expect_code(0);
        r
    };
    let moto_host = moto();
    let moto_host = moto_host.trim_start_matches("http://");

    let v = go("-v");
    assert!(v.stderr.contains("GetCallerIdentity"), "{}", v.stderr);
    assert!(v.stderr.contains("ListWorkspaces"), "{}", v.stderr);
    assert!(v.stderr.contains(moto_host), "{}", v.stderr);
    assert!(v.stderr.contains(" ms"), "{}", v.stderr);
    assert!(!v.stderr.contains("request_id"), "{}", v.stderr);

    let vv = go("-vv");
    assert!(vv.stderr.contains("request_id="), "{}", vv.stderr);
    assert!(vv.stderr.contains("attempt=1"), "{}", vv.stderr);
    for out in [&v, &vv] {
        assert!(!out.stderr.contains(&secret), "the secret key was logged");
        assert!(!out.stderr.contains("Signature="), "a signature was logged");
        assert!(!out.stderr.to_ascii_lowercase().contains("authorization:"));
    }
}

#[test]
fn offline_plan_says_which_credential_sources_were_tried_and_why_each_failed() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        dir.path().join("meshctl.yaml"),
        format!("name: {}\nregion: us-east-1\n", unique("offline-reason")),
    )
    .expect("write meshctl.yaml");
    // Instance metadata enabled, but on a closed local port: probed, bounded, and explained.
    let imds = format!("http://127.0.0.1:{}", closed_port());
    let out = crate::support::offline_meshctl(dir.path())
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds)
        .args(["amp", "--dry-run", "--output", "json"])
        .timeout(crate::support::RUN_GUARD)
        .output()
        .expect("meshctl runs");
    let run = Run::from(out);
    run.expect_code(0);
    let doc = run.json();
    let reason = doc["offline_reason"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for source in [
        "environment variables",
        "profile `default`",
        "web identity",
        "container credentials",
        "instance metadata",
    ] {
        assert!(reason.contains(source), "`{source}` not in: {reason}");
    }
}
