//! `dscsa backup` and `dscsa restore` end to end through the built binary: back up a store
//! with captured events and an audit trail, restore it into a fresh data directory, and the
//! audit trail verifies there and the data matches. Overwrites, damaged backups and
//! PostgreSQL URLs are refused with a message that says what to do.

use std::process::Command;

use crate::audit_cli::sqlite;
use crate::cli::generated_chain;
use crate::helpers::{dscsa, exited};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn backup_then_restore_into_a_fresh_store() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    let keygen = Command::new(env!("CARGO_BIN_EXE_dscsa"))
        .args(["audit", "keygen", "--out"])
        .arg(live.join("audit.key"))
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{}", stderr(&keygen));
    let public = String::from_utf8_lossy(&keygen.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("public key: "))
        .unwrap()
        .to_owned();
    let (_, files) = generated_chain(&live);
    let mut args = vec!["capture"];
    args.extend(files.iter().map(String::as_str));
    exited(&dscsa(&live, &args), 0);

    let backup = dir.path().join("store.backup");
    let backup_arg = backup.to_str().unwrap();
    let out = exited(&dscsa(&live, &["backup", "--out", backup_arg]), 0);
    assert!(out.contains("integrity ok"), "{out}");
    // The store goes on changing after the backup; the backup does not.
    exited(&dscsa(&live, &["partners", "list"]), 0);
    let again = dscsa(&live, &["backup", "--out", backup_arg]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("never overwrites"),
        "{}",
        stderr(&again)
    );

    let fresh = dir.path().join("fresh");
    let out = exited(&dscsa(&fresh, &["restore", "--from", backup_arg]), 0);
    assert!(out.contains("restored from"), "{out}");
    let verified = exited(
        &dscsa(&fresh, &["audit", "verify", "--public-key", &public]),
        0,
    );
    assert!(verified.contains("audit trail intact"), "{verified}");

    // The data matches the live store as of the backup: every event and serial, and the
    // audit trail up to the backup's own record, hash for hash.
    for table in ["events", "serials", "event_epcs", "aggregation_intervals"] {
        let query = format!("SELECT CAST(COUNT(*) AS TEXT) FROM {table}");
        assert_eq!(sqlite(&live, &query), sqlite(&fresh, &query), "{table}");
    }
    let head = sqlite(
        &fresh,
        "SELECT CAST(seq AS TEXT) FROM audit_records WHERE action = 'backup'",
    );
    let hash_at = format!("SELECT hash FROM audit_records WHERE seq = {head}");
    assert_eq!(sqlite(&live, &hash_at), sqlite(&fresh, &hash_at));
    let ids =
        "SELECT group_concat(hash_id, ',') FROM (SELECT hash_id FROM events ORDER BY hash_id)";
    assert_eq!(sqlite(&live, ids), sqlite(&fresh, ids));
    // The live store's later record is not in the backup; the restore is on the record.
    let after = format!(
        "SELECT CAST(COUNT(*) AS TEXT) FROM audit_records WHERE seq > {head} AND action = 'partners list'"
    );
    assert_eq!(sqlite(&live, &after), "1");
    assert_eq!(sqlite(&fresh, &after), "0");
    assert_eq!(
        sqlite(
            &fresh,
            "SELECT CAST(COUNT(*) AS TEXT) FROM audit_records WHERE action = 'restore'"
        ),
        "1"
    );

    // Never over an existing store.
    let over = dscsa(&fresh, &["restore", "--from", backup_arg]);
    assert!(!over.status.success());
    assert!(
        stderr(&over).contains("never overwrites"),
        "{}",
        stderr(&over)
    );
}

#[test]
fn damaged_backups_and_postgres_urls_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.backup");
    std::fs::write(&junk, b"this is not a database").unwrap();
    let fresh = dir.path().join("fresh");
    let out = dscsa(&fresh, &["restore", "--from", junk.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot be restored"),
        "{}",
        stderr(&out)
    );
    assert!(
        !fresh.join("dscsa.db").exists(),
        "nothing is written when the backup is refused"
    );

    let out = dscsa(
        dir.path(),
        &[
            "backup",
            "--out",
            dir.path().join("x").to_str().unwrap(),
            "--database-url",
            "postgres://postgres@127.0.0.1:5432/test",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("pg_dump"), "{}", stderr(&out));
    assert!(!dir.path().join("x").exists());
}
