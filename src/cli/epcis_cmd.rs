//! `dscsa epcis …`: hash, validate and convert EPCIS documents without a server.
//!
//! Every command detects the syntax (EPCIS 1.2 XML, 2.0 XML, 2.0 JSON-LD) and streams the
//! document, so files larger than memory work.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};

use epcis::{Document, EpcisVersion, Limits};

#[derive(Debug, Subcommand)]
pub(crate) enum EpcisCommand {
    /// Print the CBV 2.0 event hash ID of every event, one per line, in document order.
    ///
    /// The hash is the GS1 reference algorithm's (`ni:///sha-256;…?ver=CBV2.0`): the same event
    /// gets the same ID whether it arrives as 1.2 XML, 2.0 XML or JSON-LD.
    ///
    /// An XML file of 4 MiB or more is read on two threads at once (from its start, and from
    /// an event near its middle); the output is the same as one reader's, errors included.
    Hash {
        /// The EPCIS document (1.2 XML, 2.0 XML or JSON-LD; detected).
        file: PathBuf,
        /// Print the pre-hash string (the canonical text that is hashed) after each ID,
        /// separated by a tab, to compare with another implementation.
        #[arg(long)]
        prehash: bool,
    },
    /// Check documents: exit 0 if all are valid, else print each located error and exit 1.
    ///
    /// Errors name the place (XML line and column, or JSON pointer), the field, the value and
    /// the rule. Decoding stops at a document's first error.
    Validate {
        /// One or more EPCIS documents.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Convert a document to EPCIS 2.0 JSON-LD, 2.0 XML or 1.2 XML (what most DSCSA partners
    /// still exchange).
    Convert {
        /// The EPCIS document to convert.
        file: PathBuf,
        /// Target syntax.
        #[arg(long, value_enum)]
        to: Target,
        /// EPCIS version of XML output (JSON-LD is always 2.0).
        #[arg(long, value_enum, default_value = "2.0")]
        epcis: Version,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Target {
    /// EPCIS 2.0 JSON-LD.
    Jsonld,
    /// EPCIS XML (version from --epcis).
    Xml,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Version {
    /// EPCIS 1.2 (urn:epcglobal:epcis:xsd:1).
    #[value(name = "1.2")]
    V1_2,
    /// EPCIS 2.0 (urn:epcglobal:epcis:xsd:2).
    #[value(name = "2.0")]
    V2_0,
}

fn open(path: &Path) -> anyhow::Result<BufReader<File>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(BufReader::with_capacity(1 << 16, file))
}

pub(crate) fn run(cmd: EpcisCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        EpcisCommand::Hash { file, prehash } => super::epcis_hash::hash(&file, prehash),
        EpcisCommand::Validate { files } => validate(&files),
        EpcisCommand::Convert {
            file,
            to,
            epcis,
            output,
        } => convert(&file, to, epcis, output.as_deref()),
    }
}

fn validate(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for file in files {
        let input = open(file)?;
        let mut events = 0u64;
        match epcis::decode_stream(input, &Limits::default(), |_, _| {
            events += 1;
            Ok(())
        }) {
            Ok(_) => println!("{}: valid ({events} events)", file.display()),
            Err(e) => {
                failed = true;
                println!("{}: {e}", file.display());
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn convert(
    file: &Path,
    to: Target,
    version: Version,
    output: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let version = match version {
        Version::V1_2 => EpcisVersion::V1_2,
        Version::V2_0 => EpcisVersion::V2_0,
    };
    // Written to a temporary file beside the target and renamed at the end, so that a document
    // that fails half-way leaves no half-written output behind.
    let (out, temp): (Box<dyn Write>, Option<PathBuf>) = match output {
        Some(path) => {
            let temp = path.with_extension("partial");
            let f =
                File::create(&temp).with_context(|| format!("cannot write {}", temp.display()))?;
            (Box::new(BufWriter::with_capacity(1 << 16, f)), Some(temp))
        }
        None => (Box::new(BufWriter::new(std::io::stdout().lock())), None),
    };
    let result = convert_into(file, to, version, out);
    match (result, temp, output) {
        (Ok(code), Some(temp), Some(path)) if code == ExitCode::SUCCESS => {
            std::fs::rename(&temp, path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(code)
        }
        (result, temp, _) => {
            if let Some(temp) = temp {
                let _ = std::fs::remove_file(temp);
            }
            result
        }
    }
}

/// Streams XML input event by event (its head comes first); JSON-LD input, whose header may
/// follow the events, is decoded whole.
fn convert_into(
    file: &Path,
    to: Target,
    version: EpcisVersion,
    mut out: Box<dyn Write>,
) -> anyhow::Result<ExitCode> {
    let mut input = open(file)?;
    let syntax = {
        let head = input.fill_buf().context("reading the input")?;
        epcis::detect(head)
    };
    let fail = |e: epcis::DecodeError| {
        eprintln!("{}: {e}", file.display());
        Ok(ExitCode::from(1))
    };
    if syntax == Some(epcis::Syntax::Xml) {
        let mut events = match epcis::xml::XmlEvents::new(input, &Limits::default()) {
            Ok(events) => events,
            Err(e) => return fail(e),
        };
        let head_doc = events.head().clone();
        let head = epcis::encode::DocumentHead::of(&head_doc);
        macro_rules! stream {
            ($writer:expr) => {{
                let mut w = $writer;
                for event in events.by_ref() {
                    match event {
                        Ok(e) => w.event(&e).context("writing the output")?,
                        Err(e) => return fail(e),
                    }
                }
                w.finish().context("writing the output")?.flush()?;
            }};
        }
        match to {
            Target::Jsonld => stream!(epcis::encode::JsonLdWriter::new(&mut out, &head)?),
            Target::Xml => stream!(epcis::encode::XmlWriter::new(&mut out, &head, version)?),
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut input, &mut bytes)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let doc: Document = match epcis::decode(&bytes) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    let text = match to {
        Target::Jsonld => epcis::encode::to_jsonld(&doc),
        Target::Xml => epcis::encode::to_xml(&doc, version),
    };
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing the output")?;
    Ok(ExitCode::SUCCESS)
}
