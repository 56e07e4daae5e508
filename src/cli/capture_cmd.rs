//! `dscsa capture FILE...`: import EPCIS documents as the home organisation, one transaction
//! per file, with a progress bar on a terminal and a summary line per file and in total.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::Args;

use super::ConfigArgs;
use super::partners_cmd::connect;
use crate::services::Actor;
use crate::services::capture::{self, CaptureError, CaptureOptions, ErrorBehaviour, HOME};

#[derive(Debug, Args)]
pub(crate) struct CaptureArgs {
    /// EPCIS documents: 1.2 XML, 2.0 XML or 2.0 JSON-LD (detected from the content).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Store the events of a file that can be stored, skipping refused ones, instead of
    /// storing all of its events or none.
    #[arg(long)]
    proceed: bool,
    /// Refuse events with business-rule anomalies (packing or shipping a serial never
    /// commissioned, commissioning twice, shipping what is inactive, unpacking what is not
    /// inside) instead of recording the anomaly with the event.
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

/// Imports every file; exit 1 when any file was refused, 2 when one could not be read.
pub(crate) async fn run(args: CaptureArgs) -> anyhow::Result<ExitCode> {
    let db = connect(&args.config).await?;
    let options = CaptureOptions {
        behaviour: if args.proceed {
            ErrorBehaviour::Proceed
        } else {
            ErrorBehaviour::Rollback
        },
        strict: args.strict,
        limits: epcis::Limits::default(),
    };
    let actor = Actor::cli();
    let bar = progress_bar(args.files.len() as u64);
    let started = Instant::now();
    let mut totals = [0u64; 4];
    let mut refused_files = 0;
    for path in &args.files {
        bar.set_message(path.display().to_string());
        let bytes = tokio::fs::read(path)
            .await
            .with_context(|| format!("reading {}", path.display()))?;
        let at = Instant::now();
        match capture::capture(&db, &actor, HOME, bytes.into(), "file", &options).await {
            Ok(r) => {
                say(
                    &bar,
                    format!(
                        "{}: {} events, {} new, {} duplicates, {} anomalies{} in {:.2} s",
                        path.display(),
                        r.events,
                        r.new,
                        r.duplicates,
                        r.anomalies,
                        if r.refused.is_empty() {
                            String::new()
                        } else {
                            format!(", {} refused", r.refused.len())
                        },
                        at.elapsed().as_secs_f64()
                    ),
                );
                for refusal in &r.refused {
                    say(&bar, format!("  refused: {}", refusal.detail));
                }
                for (t, n) in totals
                    .iter_mut()
                    .zip([r.events, r.new, r.duplicates, r.anomalies])
                {
                    *t += n;
                }
            }
            Err(CaptureError::Refused(refusals)) => {
                refused_files += 1;
                for refusal in &refusals {
                    say(
                        &bar,
                        format!(
                            "{}: refused, nothing stored: {}",
                            path.display(),
                            refusal.detail
                        ),
                    );
                }
            }
            Err(CaptureError::Storage(e)) => {
                bar.finish_and_clear();
                return Err(e).with_context(|| format!("capturing {}", path.display()));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let [events, new, duplicates, anomalies] = totals;
    println!(
        "{} file(s): {events} events, {new} new, {duplicates} duplicates, {anomalies} anomalies, \
         {refused_files} file(s) refused, {:.2} s",
        args.files.len(),
        started.elapsed().as_secs_f64()
    );
    db.close().await;
    Ok(if refused_files > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints a line above the bar (`ProgressBar::println` prints nothing when the bar is hidden).
fn say(bar: &indicatif::ProgressBar, line: String) {
    bar.suspend(|| println!("{line}"));
}

/// A bar on a terminal; hidden when stderr is not one (CI, pipes), where the per-file lines
/// still print.
fn progress_bar(files: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(files);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} files {elapsed} {msg}")
    {
        bar.set_style(style);
    }
    bar
}
