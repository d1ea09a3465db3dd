//! Guards of the lean build (docs/development.md, "Build time"): the lock file holds one TLS
//! stack, and every AWS SDK crate comes without its default features, which would bring the
//! second TLS stack and the aws-lc C build back.

const LOCK: &str = include_str!("../Cargo.lock");
const MANIFEST: &str = include_str!("../Cargo.toml");

fn locked(name: &str) -> Vec<String> {
    let mut versions = vec![];
    let mut lines = LOCK.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{name}\"")
            && let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = "))
        {
            versions.push(v.trim_matches('"').to_string());
        }
    }
    versions
}

#[test]
fn lock_file_has_one_tls_stack_and_no_c_crypto_build() {
    assert_eq!(
        locked("aws-lc-sys"),
        Vec::<String>::new(),
        "aws-lc-sys is back"
    );
    assert_eq!(
        locked("aws-lc-rs"),
        Vec::<String>::new(),
        "aws-lc-rs is back"
    );
    assert_eq!(
        locked("rustls").len(),
        1,
        "more than one rustls: {:?}",
        locked("rustls")
    );
    assert!(
        locked("hyper").iter().all(|v| v.starts_with("1.")),
        "the legacy hyper 0.14 client is back: {:?}",
        locked("hyper")
    );
}

#[test]
fn every_aws_sdk_crate_is_declared_without_default_features() {
    let sdk_lines: Vec<&str> = MANIFEST
        .lines()
        .filter(|l| l.starts_with("aws-sdk-") || l.starts_with("aws-config"))
        .collect();
    assert!(sdk_lines.len() >= 3, "{sdk_lines:?}");
    for line in sdk_lines {
        assert!(
            line.contains("default-features = false"),
            "declare it with `default-features = false, features = [\"rt-tokio\"]`: {line}"
        );
    }
}
