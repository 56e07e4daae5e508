//! `dscsa serve --demo` as a newcomer runs it: start, read the printed curl line, call the
//! server with the certificate it names, stop with SIGTERM.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

/// The client and the URL of a printed `curl --cacert CA --cert CERT --key KEY 'URL'` line.
fn curl_client(line: &str) -> (reqwest::Client, String) {
    let words: Vec<&str> = line.split_whitespace().collect();
    let arg = |flag: &str| words[words.iter().position(|w| *w == flag).unwrap() + 1];
    let ca = partners::tls::read_certs_file(arg("--cacert").as_ref()).unwrap();
    let identity =
        partners::tls::ClientIdentity::from_files(arg("--cert").as_ref(), arg("--key").as_ref())
            .unwrap();
    let config =
        partners::tls::client_config(&ca, Some(identity), &[b"h2", b"http/1.1"], true).unwrap();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(Arc::unwrap_or_clone(config))
        .build()
        .unwrap();
    (client, words.last().unwrap().trim_matches('\'').to_owned())
}

#[tokio::test]
async fn serve_demo_prints_working_curl_lines_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_dscsa"))
        .args([
            "serve",
            "--demo",
            "--partner-addr",
            "127.0.0.1:0",
            "--ops-addr",
            "127.0.0.1:0",
            "--agent-addr",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // Read until the last line of the instructions, then keep draining in the background so
    // the pipe stays open.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut reader = BufReader::new(stdout).lines();
        for line in reader.by_ref() {
            let line = line.unwrap();
            let done = line.starts_with("Stop with Ctrl-C");
            lines.push(line);
            if done {
                break;
            }
        }
        let _ = tx.send(lines);
        reader.for_each(drop);
    });
    let lines = rx.await.unwrap();
    let text = lines.join("\n");
    assert!(
        text.contains("Loaded: the demo supply chain, 16 EPCIS documents"),
        "{text}"
    );
    let curl = lines
        .iter()
        .find(|l| l.contains("--cert") && l.contains("whs-east"))
        .unwrap_or_else(|| panic!("no curl line in:\n{text}"));
    let (client, url) = curl_client(curl);
    let body: serde_json::Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["principal"]["id"], "whs-east");

    // The printed history lines of the suspect unit work: as its holder (the events that name
    // the unit and that the pharmacy is party to) and as the compliance officer (every event
    // naming it, from the manufacturer's commissioning on).
    let history = |who: &str| -> Vec<String> {
        let line = lines
            .iter()
            .find(|l| l.contains("/epcis/epcs/") && l.contains(&format!("clients/{who}.pem")))
            .unwrap_or_else(|| panic!("no history curl line for {who} in:\n{text}"));
        let (client, url) = curl_client(line);
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(async move {
                    let response = client.get(&url).send().await.unwrap();
                    assert_eq!(response.status(), 200, "{url}");
                    let doc = response.bytes().await.unwrap();
                    epcis::decode(&doc)
                        .unwrap()
                        .events
                        .iter()
                        .filter_map(|e| e.biz_step.clone())
                        .collect()
                })
        })
        .join()
        .unwrap()
    };
    let holder_line = lines
        .iter()
        .find(|l| l.contains("The history of one unit"))
        .unwrap();
    let holder = holder_line
        .split("now at ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap();
    let as_holder = history(holder);
    let as_compliance = history("compliance");
    assert!(!as_holder.is_empty());
    assert!(
        as_compliance.len() > as_holder.len(),
        "{as_compliance:?} / {as_holder:?}"
    );
    assert!(
        as_compliance[0].ends_with("commissioning"),
        "{as_compliance:?}"
    );
    assert_eq!(
        body["principal"]["legal_name"],
        "Eastern Drug Distributors LLC"
    );

    // The printed verification line works as the holder: the unit is genuine.
    let line = lines
        .iter()
        .find(|l| l.contains("/vrs/gtin/"))
        .unwrap_or_else(|| panic!("no verification curl line in:\n{text}"));
    let (client, url) = curl_client(line);
    let answer: serde_json::Value = client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["data"]["verified"], true, "{url}: {answer}");
    assert_eq!(answer["responderGLN"], "0614141000005");
    assert!(text.contains("dscsa trace '"), "{text}");

    // The printed MCP line lists the tools with the printed demo agent token.
    let token = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("export DSCSA_AGENT_TOKEN="))
        .unwrap_or_else(|| panic!("no agent token in:\n{text}"));
    let mcp = lines
        .iter()
        .find(|l| l.contains("tools/list"))
        .unwrap_or_else(|| panic!("no MCP curl line in:\n{text}"));
    let words: Vec<&str> = mcp.split_whitespace().collect();
    let ca = words[words.iter().position(|w| *w == "--cacert").unwrap() + 1];
    let url = (*words.last().unwrap()).to_owned();
    let ca = partners::tls::read_certs_file(ca.as_ref()).unwrap();
    let config = partners::tls::client_config(&ca, None, &[b"h2", b"http/1.1"], true).unwrap();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(Arc::unwrap_or_clone(config))
        .build()
        .unwrap();
    let tools: serde_json::Value = client
        .post(&url)
        .bearer_auth(token)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        tools["result"]["tools"].as_array().map(Vec::len),
        Some(10),
        "{tools}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status:?}");

    // Each demo document was captured as the partner that sends it.
    let url = format!("sqlite://{}", dir.path().join("dscsa.db").display());
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let senders: Vec<(String, i64)> = sqlx::query_as(
        "SELECT captured_by, COUNT(*) FROM events GROUP BY captured_by ORDER BY captured_by",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let names: Vec<&str> = senders.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "mfg-acme",
            "rx-hillcrest",
            "rx-main-street",
            "rx-riverside",
            "whs-east",
            "whs-west"
        ]
    );
    let units: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM serials WHERE gtin IS NOT NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(units, 1000);
    pool.close().await;
}
