//! `dscsa audit` and the trail's behaviour under the command line, through the built binary, on
//! SQLite in a temporary data directory: reads and failures leave one record each, `audit
//! verify` exits 1 at tampering, an export verifies on its own, and a command killed at any
//! moment never leaves a change without its record.

use std::path::Path;
use std::process::{Command, Output};

use crate::helpers::{dscsa, exited};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn add(data: &Path, id: &str) -> Output {
    dscsa(
        data,
        &[
            "partners",
            "add",
            id,
            "--legal-name",
            "Acme",
            "--role",
            "wholesaler",
            "--bind-name",
            id,
        ],
    )
}

pub(crate) fn sqlite(data: &Path, sql: &str) -> String {
    // The bundled SQLite is not a command here; use the library through a tiny query.
    let db = data.join("dscsa.db");
    let url = format!("sqlite://{}", db.display());
    let sql = sql.to_owned();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&url).await.unwrap();
            let row: Option<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_optional(&pool)
                .await
                .unwrap();
            pool.close().await;
            row.map(|r| r.0).unwrap_or_default()
        })
}

fn count(data: &Path, action: &str) -> usize {
    sqlite(
        data,
        &format!("SELECT CAST(COUNT(*) AS TEXT) FROM audit_records WHERE action = '{action}'"),
    )
    .parse()
    .unwrap()
}

#[test]
fn reads_and_failures_leave_one_record_and_verify_reports_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    // The key where the server would create it, as `audit keygen` writes it.
    let keygen = Command::new(env!("CARGO_BIN_EXE_dscsa"))
        .args([
            "audit",
            "keygen",
            "--out",
            data.join("audit.key").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(keygen.status.success());
    let public = stdout(&keygen)
        .lines()
        .find_map(|l| l.strip_prefix("public key: "))
        .unwrap()
        .to_owned();
    assert!(add(data, "acme").status.success());
    assert_eq!(count(data, "principal.register"), 1);

    assert!(dscsa(data, &["partners", "list"]).status.success());
    assert_eq!(count(data, "partners list"), 1);

    // A failing change (a duplicate) is recorded as failed, and changes nothing else.
    let dup = add(data, "acme");
    assert!(!dup.status.success());
    assert_eq!(count(data, "partners add"), 1);
    assert_eq!(
        sqlite(
            data,
            "SELECT outcome FROM audit_records WHERE action = 'partners add'"
        ),
        "failed"
    );

    let verified = exited(&dscsa(data, &["audit", "verify"]), 0);
    assert!(
        verified.contains("audit trail intact: 3 records"),
        "{verified}"
    );

    // An export verifies on its own, with the public key only; a changed line does not.
    let export = data.join("trail.jsonl");
    let out = dscsa(
        data,
        &["audit", "export", "--out", export.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The auditor has the export and the public key, nothing else.
    let keygen_dir = tempfile::tempdir().unwrap();
    let verify_export = || {
        dscsa(
            keygen_dir.path(),
            &[
                "audit",
                "verify",
                "--file",
                export.to_str().unwrap(),
                "--public-key",
                &public,
            ],
        )
    };
    let ok = verify_export();
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let text = std::fs::read_to_string(&export).unwrap();
    std::fs::write(&export, text.replacen("\"ok\"", "\"denied\"", 1)).unwrap();
    let bad = verify_export();
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stdout(&bad).contains("BROKEN at seq 1: changed"),
        "{}",
        stdout(&bad)
    );

    // Tampering in the database, with the trigger dropped, is reported at its sequence number.
    sqlite(data, "DROP TRIGGER audit_records_no_update");
    sqlite(
        data,
        "UPDATE audit_records SET actor = 'someone-else' WHERE seq = 2",
    );
    let broken = dscsa(data, &["audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        stdout(&broken).contains("BROKEN at seq 2: changed"),
        "{}",
        stdout(&broken)
    );
}

/// A change and its record commit together: kill `partners add` at random moments and every
/// principal that exists has its `principal.register` record, and the chain verifies.
#[test]
fn a_killed_command_never_leaves_a_change_without_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    assert!(add(data, "seed").status.success());
    for i in 0..20u64 {
        let id = format!("p{i}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_dscsa"))
            .args([
                "partners",
                "add",
                &id,
                "--legal-name",
                "X",
                "--role",
                "dispenser",
                "--bind-name",
                &id,
            ])
            .arg("--data-dir")
            .arg(data)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Spread the kills over the command's life (start-up, migration check, transaction).
        std::thread::sleep(std::time::Duration::from_millis((i * 7) % 60));
        let _ = child.kill();
        let _ = child.wait();
    }
    let principals: usize = sqlite(data, "SELECT CAST(COUNT(*) AS TEXT) FROM principals")
        .parse()
        .unwrap();
    let records = count(data, "principal.register");
    assert_eq!(
        principals, records,
        "a principal without its record, or a record without its principal"
    );
    let verified = dscsa(data, &["audit", "verify"]);
    exited(&verified, 0);
    assert!(
        String::from_utf8_lossy(&verified.stderr).contains("signed checkpoints are NOT checked")
    );
}
