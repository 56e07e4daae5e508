//! `dscsa epcis hash`: the CBV 2.0 hash ID of every event, in document order, on two threads
//! for a large XML document.
//!
//! Decoding is most of the cost of hashing, and one XML reader cannot be shared between
//! threads. So a large XML file is read twice at once: from its start on the calling thread,
//! and on a second thread from an event start tag found near its middle (the seam), behind the
//! document's own bytes up to its first event. That spliced input is the document with the
//! first half's events left out, so it reads as a whole document: same root, header and
//! namespaces, same end.
//!
//! The seam is only a guess from the bytes (it could sit in a comment or CDATA section). The
//! first thread checks it when it arrives there: an event must start exactly at the seam, with
//! the very elements open around it that were open around the first event
//! ([`XmlEvents::nesting_unchanged`]). Only then are the second thread's hash IDs printed. On
//! any doubt (no event at the seam, an error in the second half, whose position in the spliced
//! input would be wrong, too many events for the limit) the first thread goes on alone from
//! where it is. The output, errors included, is always what one reader from the start gives.
//!
//! The second thread's hash IDs wait in an anonymous temporary file, so memory stays bounded
//! however large the document is.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

use epcis::xml::XmlEvents;
use epcis::{DecodeError, DecodeResult, Event, Limits};

/// Below this size a document is read on one thread: starting a second costs more than it
/// saves (reading the head twice, the temporary file).
const SPLIT_MIN_BYTES: u64 = 4 << 20;

/// How far past the middle of the file an event start tag is looked for.
const SEAM_WINDOW: usize = 1 << 20;

/// Prints every event's hash ID (and with `with_prehash`, its pre-hash string) to standard
/// output; a decoding error goes to standard error with exit code 1.
pub(crate) fn hash(file: &Path, with_prehash: bool) -> anyhow::Result<ExitCode> {
    let limits = Limits::default();
    let stdout = io::stdout();
    let mut out = Lines {
        out: BufWriter::new(stdout.lock()),
        with_prehash,
    };
    let result = match seam(file, &limits, SPLIT_MIN_BYTES)? {
        Some(seam) => split(file, &limits, seam, &mut out)?.0,
        None => sequential(file, &limits, &mut out)?,
    };
    out.out.flush().context("writing to standard output")?;
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            Ok(ExitCode::from(1))
        }
    }
}

/// Where hash IDs are written: one line per event.
struct Lines<W> {
    out: W,
    with_prehash: bool,
}

impl<W: Write> Lines<W> {
    fn event(&mut self, event: &Event, ignore: &[(String, String)]) -> io::Result<()> {
        let pre = epcis::prehash_ignoring(event, ignore);
        let id = epcis::hash_prehash(&pre);
        if self.with_prehash {
            writeln!(self.out, "{id}\t{pre}")
        } else {
            writeln!(self.out, "{id}")
        }
    }
}

/// One reader from the start, for any syntax.
fn sequential<W: Write>(
    file: &Path,
    limits: &Limits,
    out: &mut Lines<W>,
) -> anyhow::Result<DecodeResult<()>> {
    let input = open(file)?;
    let mut write_error = None;
    let result = epcis::decode_stream(input, limits, |head, event| {
        out.event(&event, &head.hash_ignore).map_err(|e| {
            let problem = epcis::Problem::Io(e.to_string());
            write_error = Some(e);
            DecodeError::new(epcis::Position::Document, problem)
        })
    });
    if let Some(e) = write_error {
        return Err(e).context("writing to standard output");
    }
    Ok(result.map(drop))
}

fn open(path: &Path) -> anyhow::Result<BufReader<File>> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(BufReader::with_capacity(1 << 16, file))
}

/// The byte offset of a likely event start tag past the middle of `file`, when the file is
/// XML, at least `min_bytes` long, within the size limit, and a second core is there to use.
fn seam(file: &Path, limits: &Limits, min_bytes: u64) -> anyhow::Result<Option<u64>> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut input = open(file)?;
    let len = input
        .get_ref()
        .metadata()
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    if cores < 2 || len < min_bytes || len > limits.max_document_bytes {
        return Ok(None);
    }
    let head = input
        .fill_buf()
        .with_context(|| format!("cannot read {}", file.display()))?;
    if epcis::detect(head) != Some(epcis::Syntax::Xml) {
        return Ok(None);
    }
    let middle = len / 2;
    input
        .seek(SeekFrom::Start(middle))
        .with_context(|| format!("cannot read {}", file.display()))?;
    let mut window = Vec::with_capacity(SEAM_WINDOW);
    input
        .take(SEAM_WINDOW as u64)
        .read_to_end(&mut window)
        .with_context(|| format!("cannot read {}", file.display()))?;
    Ok(epcis::xml::find_event_start(&window).map(|at| middle + at as u64))
}

/// The second thread's share: the hash IDs of the events from the seam on, and how many.
struct Part {
    lines: File,
    events: u64,
}

/// Reads the first half here and the rest on a second thread (see the module documentation).
/// The flag says whether the second thread's part was used.
fn split<W: Write>(
    file: &Path,
    limits: &Limits,
    seam: u64,
    out: &mut Lines<W>,
) -> anyhow::Result<(DecodeResult<()>, bool)> {
    let mut events = match XmlEvents::new(open(file)?, limits) {
        Ok(events) => events,
        Err(e) => return Ok((Err(e), false)),
    };
    let ignore = events.head().hash_ignore.clone();
    let Some(first) = events.event_offset().filter(|&first| first < seam) else {
        return Ok((alone(events, &ignore, out)?, false));
    };
    let stop = AtomicBool::new(false);
    let with_prehash = out.with_prehash;
    std::thread::scope(|scope| {
        let stop = &stop;
        let mut second =
            Some(scope.spawn(move || rest_of(file, first, seam, limits, with_prehash, stop)));
        // Whatever ends this thread's reading, the second thread has nothing left to do.
        let result = (|| {
            let mut read = 0u64;
            while let Some(event) = events.next() {
                let event = match event {
                    Ok(event) => event,
                    Err(e) => return Ok((Err(e), false)),
                };
                let at = events.event_offset();
                if let Some(handle) = second.take_if(|_| at >= Some(seam)) {
                    if at == Some(seam) && events.nesting_unchanged() {
                        // A panic or an I/O error on the second thread only costs the time.
                        if let Ok(Ok(Some(mut part))) = handle.join()
                            && read + part.events <= limits.max_events
                        {
                            io::copy(&mut part.lines, &mut out.out)
                                .context("writing to standard output")?;
                            return Ok((Ok(()), true));
                        }
                    } else {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                read += 1;
                out.event(&event, &ignore)
                    .context("writing to standard output")?;
            }
            Ok((Ok(()), false))
        })();
        stop.store(true, Ordering::Relaxed);
        result
    })
}

/// Reads on from where `events` is, on this thread only.
fn alone<R: BufRead, W: Write>(
    events: XmlEvents<R>,
    ignore: &[(String, String)],
    out: &mut Lines<W>,
) -> anyhow::Result<DecodeResult<()>> {
    for event in events {
        match event {
            Ok(event) => out
                .event(&event, ignore)
                .context("writing to standard output")?,
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(()))
}

/// The second thread: the bytes of `file` before offset `first` (the first event), then from
/// `seam` to the end, hashed into a temporary file. `None` when the spliced input does not
/// decode (the first thread then reads that part itself, and reports the error where it
/// really is) or when told to stop.
fn rest_of(
    file: &Path,
    first: u64,
    seam: u64,
    limits: &Limits,
    with_prehash: bool,
    stop: &AtomicBool,
) -> anyhow::Result<Option<Part>> {
    let head = File::open(file)?.take(first);
    let mut tail = File::open(file)?;
    tail.seek(SeekFrom::Start(seam))?;
    let Ok(events) = XmlEvents::new(BufReader::with_capacity(1 << 16, head.chain(tail)), limits)
    else {
        return Ok(None);
    };
    let ignore = events.head().hash_ignore.clone();
    let mut lines = Lines {
        out: BufWriter::with_capacity(1 << 16, tempfile::tempfile()?),
        with_prehash,
    };
    let mut count = 0u64;
    for event in events {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let Ok(event) = event else {
            return Ok(None);
        };
        lines.event(&event, &ignore)?;
        count += 1;
    }
    let mut lines = lines
        .out
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    lines.rewind()?;
    Ok(Some(Part {
        lines,
        events: count,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::bulk;

    /// What one run printed: the hash lines, and the error as the command shows it.
    type Printed = (String, Option<String>);

    fn file_of(doc: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temporary file");
        file.write_all(doc.as_bytes()).expect("write");
        file
    }

    fn lines() -> Lines<Vec<u8>> {
        Lines {
            out: Vec::new(),
            with_prehash: true,
        }
    }

    fn printed(out: Lines<Vec<u8>>, result: DecodeResult<()>) -> Printed {
        let text = String::from_utf8(out.out).expect("UTF-8");
        (text, result.err().map(|e| e.to_string()))
    }

    fn one_reader(path: &Path, limits: &Limits) -> Printed {
        let mut out = lines();
        let result = sequential(path, limits, &mut out).expect("no I/O error");
        printed(out, result)
    }

    /// Runs the split reading (the seam looked for whatever the size); the flag says whether
    /// the second thread's part was used.
    fn two_readers(path: &Path, limits: &Limits) -> (Printed, bool) {
        let seam = seam(path, limits, 0)
            .expect("no I/O error")
            .expect("an event start past the middle");
        let mut out = lines();
        let (result, used) = split(path, limits, seam, &mut out).expect("no I/O error");
        (printed(out, result), used)
    }

    #[test]
    fn two_readers_print_what_one_prints() {
        let file = file_of(&bulk::deep_chain_document(0));
        let limits = Limits::default();
        let one = one_reader(file.path(), &limits);
        assert_eq!(one.1, None);
        assert_eq!(one.0.lines().count() as u64, bulk::DEEP_EVENTS);
        let (two, used) = two_readers(file.path(), &limits);
        assert!(used, "the second half was read on the second thread");
        assert_eq!(two, one);
    }

    #[test]
    fn a_seam_inside_a_comment_is_not_used() {
        let doc = bulk::deep_chain_document(1);
        let middle = doc.len() / 2;
        let at = middle
            + epcis::xml::find_event_start(&doc.as_bytes()[middle..]).expect("an event start");
        // The first event start past the middle is now in a comment.
        let doc = format!("{}<!--<ObjectEvent>-->{}", &doc[..at], &doc[at..]);
        let printed = refused_seam(&doc, &Limits::default());
        assert_eq!(printed.0.lines().count() as u64, bulk::DEEP_EVENTS);
    }

    /// A deep-chain document whose SGTIN at byte `at` (of the unspoiled text) has a serial
    /// character outside GS1 CSET 82.
    fn spoiled(batch: u64, at: impl Fn(&str) -> Option<usize>) -> String {
        let doc = bulk::deep_chain_document(batch);
        let prefix = "urn:epc:id:sgtin:";
        let at = at(&doc).expect("an SGTIN");
        format!("{}{prefix}x{}", &doc[..at], &doc[at + prefix.len()..])
    }

    /// Runs both readings of `doc`, checks that the second thread's part was not used and that
    /// both printed the same, and returns what was printed.
    fn refused_seam(doc: &str, limits: &Limits) -> Printed {
        let file = file_of(doc);
        let one = one_reader(file.path(), limits);
        let (two, used) = two_readers(file.path(), limits);
        assert!(!used);
        assert_eq!(two, one);
        one
    }

    #[test]
    fn an_error_past_the_seam_is_reported_where_it_is() {
        let doc = spoiled(2, |d| d.rfind("urn:epc:id:sgtin:"));
        let error = refused_seam(&doc, &Limits::default())
            .1
            .expect("the bad EPC is refused");
        assert!(error.contains("line "), "{error}");
    }

    #[test]
    fn an_error_before_the_seam_stops_both_readers() {
        let doc = spoiled(3, |d| d.find("urn:epc:id:sgtin:"));
        assert!(refused_seam(&doc, &Limits::default()).1.is_some());
    }

    #[test]
    fn the_event_limit_counts_both_halves() {
        let limits = Limits {
            max_events: bulk::DEEP_EVENTS - 1,
            ..Limits::default()
        };
        let error = refused_seam(&bulk::deep_chain_document(4), &limits)
            .1
            .expect("one event too many");
        assert!(error.contains("events in one document"), "{error}");
    }
}
