//! The `dscsa partners` and `dscsa pki` commands end to end, on SQLite in a temporary data
//! directory, through the built binary.

use std::process::{Command, Output};

use crate::helpers::dscsa;

fn ok(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn partner_lifecycle_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let pki = data.join("pki");
    let pki_arg = pki.to_str().unwrap();
    let out = ok(&Command::new(env!("CARGO_BIN_EXE_dscsa"))
        .args([
            "pki",
            "dev",
            "--out",
            pki_arg,
            "--client",
            "acme",
            "--client",
            "acme-next",
        ])
        .output()
        .unwrap());
    assert!(out.contains("clients/acme.pem"), "{out}");
    let cert = pki.join("clients/acme.pem");
    let next = pki.join("clients/acme-next.pem");

    let out = ok(&dscsa(
        data,
        &[
            "partners",
            "add",
            "acme",
            "--legal-name",
            "Acme Wholesale LLC",
            "--role",
            "wholesaler",
            "--gln",
            "0614141000005",
            "--prefix",
            "0614141",
            "--state-licence",
            "WD-1",
            "--state",
            "nj",
            "--dea",
            "AB1234563",
            "--cert",
            cert.to_str().unwrap(),
        ],
    ));
    assert!(
        out.contains("registered acme (partner) with 1 certificate binding(s)"),
        "{out}"
    );
    let out = ok(&dscsa(
        data,
        &[
            "partners",
            "add",
            "jdoe",
            "--kind",
            "staff",
            "--staff-role",
            "auditor",
            "--display-name",
            "J. Doe",
            "--bind-name",
            "jdoe",
        ],
    ));
    assert!(out.contains("registered jdoe (staff)"), "{out}");

    let out = ok(&dscsa(data, &["partners", "list"]));
    assert!(
        out.contains("acme") && out.contains("wholesaler") && out.contains("jdoe"),
        "{out}"
    );

    ok(&dscsa(
        data,
        &["partners", "bind", "acme", "--cert", next.to_str().unwrap()],
    ));
    let third = dscsa(data, &["partners", "bind", "acme", "--bind-name", "acme"]);
    assert_eq!(third.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&third.stderr).contains("two active"));

    let show: serde_json::Value =
        serde_json::from_str(&ok(&dscsa(data, &["partners", "show", "acme", "--json"]))).unwrap();
    assert_eq!(
        show["principal"]["licences"]["state_licence"]["state"],
        "NJ"
    );
    assert_eq!(show["bindings"].as_array().unwrap().len(), 2);
    assert_eq!(show["visibility"]["scope"], "party_to");
    let first = show["bindings"][0]["id"].as_i64().unwrap().to_string();

    ok(&dscsa(data, &["partners", "unbind", "acme", &first]));
    let out = ok(&dscsa(data, &["partners", "suspend", "acme"]));
    assert!(out.contains("acme: active -> suspended"), "{out}");
    let out = ok(&dscsa(data, &["partners", "reinstate", "acme"]));
    assert!(out.contains("acme: suspended -> active"), "{out}");

    let missing = dscsa(data, &["partners", "suspend", "nobody"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("principal nobody not found"));
    let bad_gln = dscsa(
        data,
        &[
            "partners",
            "add",
            "x",
            "--legal-name",
            "X",
            "--role",
            "dispenser",
            "--gln",
            "0614141000006",
        ],
    );
    assert_eq!(bad_gln.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_gln.stderr).contains("check digit"));
}

#[test]
fn fixtures_generate_writes_valid_documents_and_refuses_bad_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chain");
    let run = |units: &str| {
        Command::new(env!("CARGO_BIN_EXE_dscsa"))
            .args([
                "fixtures", "generate", "--units", units, "--seed", "2", "--out",
            ])
            .arg(&out)
            .output()
            .unwrap()
    };
    let ok = run("120");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let files = manifest["documents"].as_array().unwrap();
    assert!(files.len() >= 10);
    for f in files {
        let path = out.join(f["file"].as_str().unwrap());
        let validated = Command::new(env!("CARGO_BIN_EXE_dscsa"))
            .args(["epcis", "validate"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            validated.status.success(),
            "{}",
            String::from_utf8_lossy(&validated.stdout)
        );
    }
    let bad = run("0");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--units 0: use 1 to 10,000,000"));
}

/// `dscsa fixtures generate` of 100 units (seed 3) under `data/chain`: the directory and its
/// documents in capture order.
pub(crate) fn generated_chain(data: &std::path::Path) -> (std::path::PathBuf, Vec<String>) {
    let chain = data.join("chain");
    ok(&Command::new(env!("CARGO_BIN_EXE_dscsa"))
        .args([
            "fixtures", "generate", "--units", "100", "--seed", "3", "--out",
        ])
        .arg(&chain)
        .output()
        .unwrap());
    let mut files: Vec<String> = std::fs::read_dir(&chain)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .map(|p| p.to_str().unwrap().to_owned())
        .collect();
    files.sort();
    (chain, files)
}

/// `dscsa capture`: a line per file and a summary; a second import stores nothing; a refused
/// file exits 1 naming the defect and leaves the others stored; the audit trail has the imports.
#[test]
fn capture_imports_files_once_and_names_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (_, files) = generated_chain(data);
    let mut args = vec!["capture"];
    args.extend(files.iter().map(String::as_str));
    let first = ok(&dscsa(data, &args));
    assert!(
        first.contains(&format!("{} file(s):", files.len())),
        "{first}"
    );
    assert!(
        first.contains(" 0 duplicates, 0 anomalies, 0 file(s) refused"),
        "{first}"
    );
    let again = ok(&dscsa(data, &args));
    assert!(again.contains(" 0 new, "), "{again}");

    let broken = data.join("broken.xml");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    std::fs::write(
        &broken,
        text.replacen("<action>ADD</action>", "<action>SOMETIMES</action>", 1),
    )
    .unwrap();
    let out = dscsa(data, &["capture", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("refused, nothing stored"), "{stdout}");
    assert!(stdout.contains("SOMETIMES"), "{stdout}");

    let export = data.join("audit.jsonl");
    ok(&dscsa(
        data,
        &[
            "audit",
            "export",
            "--format",
            "jsonl",
            "--out",
            export.to_str().unwrap(),
        ],
    ));
    let trail = std::fs::read_to_string(&export).unwrap();
    assert_eq!(
        trail.matches("\"epcis.capture\"").count(),
        2 * files.len(),
        "every file captured twice"
    );
}

#[test]
fn verify_and_trace_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let (chain, files) = generated_chain(data);
    let mut args = vec!["capture"];
    args.extend(files.iter().map(String::as_str));
    ok(&dscsa(data, &args));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(chain.join("manifest.json")).unwrap())
            .unwrap();
    let epc = manifest["samples"]["suspect"]["epc"].as_str().unwrap();
    let dl = epcis::id::DigitalLink::parse(&dscsa_exchange::stored::epc_key(epc)).unwrap();
    let (gtin, serial) = (dl.gtin().unwrap().as_str(), dl.serial().unwrap());
    let with_org = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dscsa"))
            .args(args)
            .arg("--data-dir")
            .arg(data)
            .env("DSCSA__ORGANISATION__GLN", "0614141000005")
            .env("DSCSA__ORGANISATION__COMPANY_PREFIXES", "[\"0614141\"]")
            .output()
            .unwrap()
    };
    // A scan of the 2D code's element string: verified, exit 0.
    let scan = format!("(01){gtin}(21){serial}");
    let out = ok(&with_org(&["verify", "--scan", &scan]));
    assert!(out.contains("verified: yes"), "{out}");
    assert!(out.contains("responder GLN: 0614141000005"), "{out}");
    // The wrong lot: not verified, exit 1, the reason named.
    let out = with_org(&[
        "verify", "--gtin", gtin, "--serial", serial, "--lot", "NOPE", "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        answer["data"]["verificationFailureReason"],
        "No_match_GTIN_Serial_Lot"
    );
    // Without a responder GLN the command says which setting is missing.
    let out = dscsa(data, &["verify", "--scan", &scan]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[organisation]"));
    // A malformed scan is refused naming the problem.
    let out = with_org(&["verify", "--scan", "(01)00614141100018(21)X"]);
    assert_eq!(out.status.code(), Some(2));

    // The trace of the same unit: from the manufacturer's commissioning to its holder.
    let out = ok(&with_org(&["trace", epc]));
    assert!(out.contains("records begin with: commissioning"), "{out}");
    assert!(
        out.contains("Acme Pharmaceuticals Inc. (0614141000005) -> "),
        "{out}"
    );
    let out = ok(&with_org(&[
        "trace",
        epc,
        "--response-type",
        "last-known-owner",
        "--json",
    ]));
    let answer: serde_json::Value = serde_json::from_str(&out).unwrap();
    let owners = answer["tiResponse"]["trace"]["owners"].as_array().unwrap();
    assert_eq!(owners.len(), 1);
    let holder = manifest["samples"]["suspect"]["holder"].as_str().unwrap();
    let holder_gln = match holder {
        "rx-main-street" => "0360003000002",
        "rx-riverside" => "0360004000001",
        _ => "0360005000000",
    };
    assert_eq!(owners[0]["party"]["gln"], holder_gln, "{answer}");
}

/// `dscsa agents token issue|list|revoke`: a scope the principal may not hold is refused, a
/// token is printed once and never listed, revocation shows in the list.
#[test]
fn agent_tokens_through_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    ok(&dscsa(
        data,
        &[
            "partners",
            "add",
            "comp",
            "--kind",
            "staff",
            "--staff-role",
            "compliance",
            "--display-name",
            "C. Officer",
            "--bind-name",
            "comp",
        ],
    ));
    // A scope the principal may not hold is refused, naming it.
    let refused = dscsa(
        data,
        &[
            "agents",
            "token",
            "issue",
            "--principal",
            "comp",
            "--scopes",
            "admin",
            "--purpose",
            "x",
        ],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--scopes"));
    let token = ok(&dscsa(
        data,
        &[
            "agents",
            "token",
            "issue",
            "--principal",
            "comp",
            "--scopes",
            "verify",
            "--ttl",
            "1h",
            "--purpose",
            "stdio test",
            "--quiet",
        ],
    ))
    .trim()
    .to_owned();
    assert!(token.starts_with("dscsa_at_"), "{token}");
    let listed = ok(&dscsa(data, &["agents", "token", "list"]));
    assert!(
        listed.contains("active") && !listed.contains(&token),
        "{listed}"
    );

    let id = listed.split_whitespace().next().unwrap().to_owned();
    ok(&dscsa(data, &["agents", "token", "revoke", &id]));
    let listed = ok(&dscsa(data, &["agents", "token", "list"]));
    assert!(listed.contains("revoked"), "{listed}");
}
