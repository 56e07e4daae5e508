//! Layered configuration: unknown keys refused by name, precedence of the layers, secrets
//! hidden in `dscsa check-config`.

use std::process::Command;

use dscsa_exchange::config::{Overrides, Settings};

fn write(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("dscsa.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn unknown_key_in_file_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "[partner_listener]\naddr = \"127.0.0.1:8443\"\nadress = \"x\"\n",
    );
    let err = Settings::load(Some(&file), env(&[]), &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("adress"), "{err}");
    assert!(err.contains("dscsa.toml"), "{err}");
}

#[test]
fn unknown_environment_variable_is_refused_by_name() {
    let err = Settings::load(
        None,
        env(&[("DSCSA__DATABSE__URL", "sqlite://x")]),
        &Overrides::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("databse"), "{err}");
}

#[test]
fn layers_apply_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "data_dir = \"/srv/file\"\n[partner_listener]\naddr = \"127.0.0.1:1111\"\n\
         [ops_listener]\naddr = \"127.0.0.1:2222\"\n[shutdown]\ngrace_period_secs = 5\n",
    );
    let vars = env(&[
        ("DSCSA__PARTNER_LISTENER__ADDR", "127.0.0.1:3333"),
        ("DSCSA__OPS_LISTENER__ADDR", "127.0.0.1:4444"),
        ("OTHER_VARIABLE", "ignored"),
    ]);
    let flags = Overrides {
        ops_addr: Some("127.0.0.1:5555".parse().unwrap()),
        ..Overrides::default()
    };
    let config = Settings::load(Some(&file), vars, &flags)
        .unwrap()
        .resolve()
        .unwrap();
    assert_eq!(config.data_dir, std::path::Path::new("/srv/file")); // file over default
    assert_eq!(config.partner_addr.port(), 3333); // env over file
    assert_eq!(config.ops_addr.port(), 5555); // flag over env
    assert_eq!(config.shutdown_grace.as_secs(), 5);
    assert_eq!(config.handshake_timeout.as_secs(), 10); // default
    assert!(
        config
            .database_url
            .expose()
            .starts_with("sqlite:///srv/file/dscsa.db")
    );
}

#[test]
fn half_a_production_pki_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "[tls]\nserver_cert = \"/etc/dscsa/server.pem\"\n",
    );
    let err = Settings::load(Some(&file), env(&[]), &Overrides::default())
        .unwrap()
        .resolve()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("server_cert, server_key and client_ca together"),
        "{err}"
    );
}

#[test]
fn check_config_hides_the_database_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "[database]\nmax_connections = 4\n");
    let output = Command::new(env!("CARGO_BIN_EXE_dscsa"))
        .args(["check-config", "--config"])
        .arg(&file)
        .env(
            "DSCSA__DATABASE__URL",
            "postgres://app:hunter2@db.example:5432/dscsa",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");
    assert!(
        !stdout.contains("hunter2") && !stderr.contains("hunter2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("url = \"postgres://app:***@db.example:5432/dscsa\""),
        "{stdout}"
    );
    assert!(stdout.contains("max_connections = 4"), "{stdout}");
    assert!(stdout.contains("[partner_listener]"), "{stdout}");
}

#[test]
fn check_config_names_an_unknown_key() {
    let output = Command::new(env!("CARGO_BIN_EXE_dscsa"))
        .arg("check-config")
        .env("DSCSA__PARTNER_LISTENER__PORT", "8443")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("port"), "{stderr}");
    assert!(
        stderr.contains("DSCSA__PARTNER_LISTENER__PORT") || stderr.contains("partner_listener"),
        "{stderr}"
    );
}

#[test]
fn check_config_loads_production_tls_files_and_names_the_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let pki = partners::devpki::DevPkiLayout::new(dir.path().join("pki"));
    partners::devpki::ensure(&pki).unwrap();
    let run = |ca: &str| {
        Command::new(env!("CARGO_BIN_EXE_dscsa"))
            .arg("check-config")
            .env("DSCSA__TLS__SERVER_CERT", pki.server_cert())
            .env("DSCSA__TLS__SERVER_KEY", pki.server_key())
            .env("DSCSA__TLS__CLIENT_CA", ca)
            .output()
            .unwrap()
    };
    let good = run(&format!("[\"{}\"]", pki.ca_cert().display()));
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let bad = run("[\"/nonexistent/partners-ca.pem\"]");
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("/nonexistent/partners-ca.pem"), "{stderr}");
}

/// Every setting's key, as `section.key`, from the defaults' serialized shape.
fn setting_keys(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
    if let serde_json::Value::Object(map) = value {
        for (key, inner) in map {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            if inner.is_object() {
                setting_keys(inner, &path, out);
            } else {
                out.push(path);
            }
        }
    }
}

#[test]
fn the_deploy_configurations_load_and_the_example_documents_every_setting() {
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    for name in [
        "config.example.toml",
        "container-config.toml",
        "k8s/config.toml",
    ] {
        let file = deploy.join(name);
        Settings::load(Some(&file), env(&[]), &Overrides::default())
            .and_then(Settings::resolve)
            .unwrap_or_else(|e| panic!("deploy/{name}: {e}"));
    }
    // Each setting appears in the example as `key = …` or, where its default is "unset",
    // commented out as `# key = …`, under its section's header.
    let example = std::fs::read_to_string(deploy.join("config.example.toml")).unwrap();
    let mut keys = Vec::new();
    setting_keys(
        &serde_json::to_value(Settings::default()).unwrap(),
        "",
        &mut keys,
    );
    assert!(keys.len() > 20, "{keys:?}");
    let mut section = String::new();
    let mut documented = Vec::new();
    for line in example.lines() {
        let line = line.trim_start_matches('#').trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = header.to_owned();
        } else if let Some((key, _)) = line.split_once(" = ") {
            let key = key.trim();
            if !key.contains(' ') {
                documented.push(if section.is_empty() {
                    key.to_owned()
                } else {
                    format!("{section}.{key}")
                });
            }
        }
    }
    let missing: Vec<&String> = keys.iter().filter(|k| !documented.contains(k)).collect();
    assert!(
        missing.is_empty(),
        "deploy/config.example.toml does not document {missing:?}"
    );
}

#[test]
fn a_bad_allowed_network_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "[partner_listener.allowed_networks]\nwhs-east = [\"10.0.0.0/33\"]\n",
    );
    let err = Settings::load(Some(&file), env(&[]), &Overrides::default())
        .and_then(Settings::resolve)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("partner_listener.allowed_networks.whs-east") && err.contains("10.0.0.0/33"),
        "{err}"
    );
    let file = write(dir.path(), "[partner_listener]\nrequests_per_minute = 0\n");
    let err = Settings::load(Some(&file), env(&[]), &Overrides::default())
        .and_then(Settings::resolve)
        .unwrap_err()
        .to_string();
    assert!(err.contains("requests_per_minute"), "{err}");
}
