//! Limits on what a decoder accepts, so that a hostile document costs bounded memory and time.

/// Limits applied while decoding. Exceeding one is a [`crate::Problem::Limit`] error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Total input bytes.
    pub max_document_bytes: u64,
    /// Element (XML) or object/array (JSON) nesting depth.
    pub max_depth: usize,
    /// Events in one document.
    pub max_events: u64,
    /// EPCs (all EPC lists of one event together).
    pub max_epcs_per_event: usize,
    /// Bytes of one text value or attribute value.
    pub max_value_bytes: usize,
    /// Elements in one event or header (all nesting levels together).
    pub max_nodes_per_item: usize,
}

impl Default for Limits {
    /// Generous defaults for trusted command-line use: a 4 GiB document, 5 million events.
    /// The server sets its own, tighter, limits for what partners send.
    fn default() -> Self {
        Self {
            max_document_bytes: 4 << 30,
            max_depth: 64,
            max_events: 5_000_000,
            max_epcs_per_event: 1_000_000,
            max_value_bytes: 1 << 20,
            max_nodes_per_item: 2_000_000,
        }
    }
}
