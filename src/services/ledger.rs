//! The serial ledger as one capture changes it: a write-back cache over `serials` and the open
//! `aggregation_intervals`, flushed to the database in sets.
//!
//! Why: a DSCSA shipment names each serial in three or four events (commissioned, packed into
//! a case, the case onto a pallet, the pallet shipped). Applied statement by statement, each of
//! those rewrote the same rows at random places in the B-trees, moved an index entry for every
//! new top container, and copied every touched page to SQLite's statement journal: most of a
//! capture's time. Here an event changes rows in memory, and the database sees each row once,
//! in key order, when the capture flushes: before it commits, when the cache holds more than
//! [`Ledger::FLUSH_ABOVE`] rows, and before a statement that needs the stored ledger (a lot
//! recall). A capture holds the store's write lock from start to commit (SQLite's lock, an
//! advisory lock on PostgreSQL), so nothing else changes these rows meanwhile. The events' EPC
//! index rows (`event_epcs`) wait for the same flush, to be written in key order too.
//!
//! Invariants:
//! - A key with a [`Slot`] is authoritative: `Absent` means the store has no row for it and
//!   none was created since; `Row` is the row as it stands now.
//! - `children` holds `(parent, child)` for every cached row inside a container. For a parent
//!   in `children_complete` it lists all of them: the parent was absent from the store when
//!   first seen (a container gets its ledger row before anything is packed into it, so the store
//!   holds nothing inside a container it has no row for), or its stored children were loaded.
//! - `open` indexes every open interval of every cached row: loaded with the row, added by
//!   packing, removed by closing.
//! - The top container of a row is the outermost container of its parent chain: packing and
//!   unpacking move the top of everything inside the objects they move.

use std::collections::BTreeSet;
use std::num::NonZeroU32;

use indexmap::IndexSet;
use sqlx::AnyConnection;

use crate::storage::ledger::{self as store, IntervalRow, OpenInterval, SerialRow};
use crate::storage::{Backend, StorageError};

/// An interned string: an EPC key, lot, step, party, ... (1-based index into [`Names`]).
type Sym = NonZeroU32;

/// What an event does to the ledger rows it reaches.
#[derive(Debug, Default)]
pub(crate) struct Change<'a> {
    /// The event's row id.
    pub event: i64,
    /// Its time, µs. A change older than a row's last event leaves that row as it is (events
    /// may arrive out of order).
    pub time: i64,
    /// Business step.
    pub biz_step: Option<&'a str>,
    /// Disposition.
    pub disposition: Option<&'a str>,
    /// New owner (EPC key of the owning party), if the event names one.
    pub owner: Option<&'a str>,
    /// New location (EPC key), if the event names one.
    pub location: Option<&'a str>,
    /// New state (`decommissioned`, `destroyed`, `dispensed`), if the event changes it.
    pub state: Option<&'a str>,
    /// Whether the event marks the objects recalled.
    pub recalled: bool,
}

/// Interned strings, each stored once.
#[derive(Debug, Default)]
struct Names(IndexSet<Box<str>, foldhash::fast::RandomState>);

impl Names {
    fn intern(&mut self, s: &str) -> Sym {
        let index = match self.0.get_index_of(s) {
            Some(i) => i,
            None => self.0.insert_full(s.into()).0,
        };
        // INVARIANT: index + 1 >= 1; a capture cannot intern 2^32 strings (its limits on
        // events and EPCs keep it far below).
        NonZeroU32::new(u32::try_from(index + 1).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN)
    }

    fn opt(&mut self, s: Option<&str>) -> Option<Sym> {
        s.map(|s| self.intern(s))
    }

    fn get(&self, sym: Sym) -> &str {
        self.0.get_index(sym.get() as usize - 1).map_or("", |s| s)
    }
}

/// A ledger row in the cache (see [`SerialRow`] for the columns).
#[derive(Debug, Clone)]
struct Row {
    /// The store has this row (an UPDATE at flush), else it is new (an INSERT).
    stored: bool,
    /// Changed since loaded.
    dirty: bool,
    gtin: Option<Sym>,
    lot: Option<Sym>,
    expiry: Option<Sym>,
    commissioned_event: Option<i64>,
    commissioned_at: Option<i64>,
    parent: Option<Sym>,
    top: Option<Sym>,
    last_event: i64,
    last_event_time: i64,
    last_biz_step: Option<Sym>,
    last_disposition: Option<Sym>,
    owner: Option<Sym>,
    location: Option<Sym>,
    state: Sym,
    recalled: bool,
}

/// What the cache knows of a key.
#[derive(Debug, Clone, Default)]
enum Slot {
    /// Not looked up yet.
    #[default]
    Unknown,
    /// No ledger row.
    Absent,
    /// The row as it stands.
    Row(Row),
}

/// An aggregation interval the cache holds.
#[derive(Debug, Clone)]
struct Interval {
    child: Sym,
    parent: Sym,
    from_event: i64,
    from_time: i64,
    to: Option<(i64, i64)>,
    /// The store has it (closing is an UPDATE), else it is new (an INSERT).
    stored: bool,
}

/// An `event_epcs` row held for the flush (16 bytes: there are two or three per serial).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EpcRow {
    key: Sym,
    role: &'static str,
    event: i64,
}

/// The write-back ledger of one capture. See the module documentation.
#[derive(Debug)]
pub(crate) struct Ledger {
    backend: Backend,
    names: Names,
    /// By [`Sym`] (index `sym - 1`); names that are not keys stay `Unknown`.
    slots: Vec<Slot>,
    rows: usize,
    children: BTreeSet<(Sym, Sym)>,
    children_complete: std::collections::HashSet<Sym, foldhash::fast::RandomState>,
    intervals: Vec<Interval>,
    /// (child, index into `intervals`) of each open interval.
    open: BTreeSet<(Sym, usize)>,
    /// `event_epcs` rows (key, event row id, role) of the events captured since the last
    /// flush, written then in key order.
    epc_rows: Vec<EpcRow>,
    active: Sym,
    unknown: Sym,
}

/// The GTIN of a canonical Digital Link key (as `substr(key, 23, 14)` in SQL), else `None`.
fn gtin_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("https://id.gs1.org/01/")?;
    let end = rest.char_indices().nth(14).map_or(rest.len(), |(i, _)| i);
    rest.get(..end)
}

impl Ledger {
    /// Rows the cache may hold before the capture flushes it between two events: about 30 MB.
    pub(crate) const FLUSH_ABOVE: usize = 120_000;

    pub(crate) fn new(backend: Backend) -> Self {
        let mut names = Names::default();
        let active = names.intern("active");
        let unknown = names.intern("unknown");
        Self {
            backend,
            names,
            slots: Vec::new(),
            rows: 0,
            children: BTreeSet::new(),
            children_complete: Default::default(),
            intervals: Vec::new(),
            open: BTreeSet::new(),
            epc_rows: Vec::new(),
            active,
            unknown,
        }
    }

    /// Whether the cache holds enough to flush it between two events: more than
    /// [`Self::FLUSH_ABOVE`] ledger rows, or four times as many EPC index rows (a quarter of the
    /// size each).
    pub(crate) fn is_full(&self) -> bool {
        self.rows > Self::FLUSH_ABOVE || self.epc_rows.len() > 4 * Self::FLUSH_ABOVE
    }

    /// Records that event row `event` names `keys` in `role` (`event_epcs`, the EPC query
    /// index), to write at the next flush.
    pub(crate) fn index_epcs(&mut self, keys: &[String], event: i64, role: &'static str) {
        for k in keys {
            let sym = self.names.intern(k);
            self.epc_rows.push(EpcRow {
                key: sym,
                role,
                event,
            });
        }
    }

    fn sym(&mut self, s: &str) -> Sym {
        let sym = self.names.intern(s);
        let index = sym.get() as usize - 1;
        if self.slots.len() <= index {
            self.slots.resize_with(index + 1, Slot::default);
        }
        sym
    }

    fn syms(&mut self, keys: &[String]) -> Vec<Sym> {
        keys.iter().map(|k| self.sym(k)).collect()
    }

    /// [`Self::syms`], sorted, each once.
    fn distinct(&mut self, keys: &[String]) -> Vec<Sym> {
        let mut syms = self.syms(keys);
        syms.sort_unstable();
        syms.dedup();
        syms
    }

    fn slot(&self, sym: Sym) -> &Slot {
        self.slots
            .get(sym.get() as usize - 1)
            .unwrap_or(&Slot::Unknown)
    }

    fn row(&self, sym: Sym) -> Option<&Row> {
        match self.slot(sym) {
            Slot::Row(r) => Some(r),
            _ => None,
        }
    }

    fn row_mut(&mut self, sym: Sym) -> Option<&mut Row> {
        match self.slots.get_mut(sym.get() as usize - 1) {
            Some(Slot::Row(r)) => Some(r),
            _ => None,
        }
    }

    fn json(&self, syms: &[Sym]) -> String {
        let list: Vec<&str> = syms.iter().map(|s| self.names.get(*s)).collect();
        serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
    }

    fn put_row(&mut self, sym: Sym, row: Row) {
        if let Some(parent) = row.parent {
            self.children.insert((parent, sym));
        }
        if let Some(slot) = self.slots.get_mut(sym.get() as usize - 1) {
            if !matches!(slot, Slot::Row(_)) {
                self.rows += 1;
            }
            *slot = Slot::Row(row);
        }
    }

    /// Caches stored rows (and their open intervals) that the cache does not hold yet.
    async fn cache_stored(
        &mut self,
        conn: &mut AnyConnection,
        found: Vec<SerialRow<String>>,
    ) -> Result<(), StorageError> {
        let mut cached = Vec::with_capacity(found.len());
        for r in found {
            let sym = self.sym(&r.epc);
            if matches!(self.slot(sym), Slot::Row(_)) {
                continue;
            }
            let row = Row {
                stored: true,
                dirty: false,
                gtin: self.names.opt(r.gtin.as_deref()),
                lot: self.names.opt(r.lot.as_deref()),
                expiry: self.names.opt(r.expiry.as_deref()),
                commissioned_event: r.commissioned_event,
                commissioned_at: r.commissioned_at,
                parent: r.parent.as_deref().map(|p| self.sym(p)),
                top: r.top.as_deref().map(|t| self.sym(t)),
                last_event: r.last_event,
                last_event_time: r.last_event_time,
                last_biz_step: self.names.opt(r.last_biz_step.as_deref()),
                last_disposition: self.names.opt(r.last_disposition.as_deref()),
                owner: self.names.opt(r.owner.as_deref()),
                location: self.names.opt(r.location.as_deref()),
                state: self.names.intern(&r.state),
                recalled: r.recalled,
            };
            self.put_row(sym, row);
            cached.push(sym);
        }
        if cached.is_empty() {
            return Ok(());
        }
        let json = self.json(&cached);
        for OpenInterval {
            child,
            parent,
            from_event,
            from_time,
        } in store::open_intervals(conn, self.backend, &json).await?
        {
            let child = self.sym(&child);
            let parent = self.sym(&parent);
            self.open.insert((child, self.intervals.len()));
            self.intervals.push(Interval {
                child,
                parent,
                from_event,
                from_time,
                to: None,
                stored: true,
            });
        }
        Ok(())
    }

    /// Looks up the keys the cache has not seen.
    async fn load(&mut self, conn: &mut AnyConnection, keys: &[Sym]) -> Result<(), StorageError> {
        let missing = sorted_unique(keys, |k| matches!(self.slot(k), Slot::Unknown));
        if missing.is_empty() {
            return Ok(());
        }
        let found = store::serials(conn, self.backend, &self.json(&missing)).await?;
        self.cache_stored(conn, found).await?;
        for k in missing {
            if let Some(slot) = self.slots.get_mut(k.get() as usize - 1)
                && matches!(slot, Slot::Unknown)
            {
                *slot = Slot::Absent;
                // Nothing stored can be inside a container the store has no row for.
                self.children_complete.insert(k);
            }
        }
        Ok(())
    }

    /// Loads what the store holds directly inside `parents`.
    async fn load_children(
        &mut self,
        conn: &mut AnyConnection,
        parents: &[Sym],
    ) -> Result<(), StorageError> {
        let todo = sorted_unique(parents, |p| !self.children_complete.contains(&p));
        if todo.is_empty() {
            return Ok(());
        }
        let found = store::serials_inside(conn, self.backend, &self.json(&todo)).await?;
        self.cache_stored(conn, found).await?;
        self.children_complete.extend(todo);
        Ok(())
    }

    fn children_of_sym(&self, parent: Sym) -> impl Iterator<Item = Sym> + '_ {
        self.children
            .range((parent, NonZeroU32::MIN)..=(parent, NonZeroU32::MAX))
            .map(|(_, c)| *c)
    }

    /// `roots` and everything inside them, any depth (roots first).
    async fn with_contents(
        &mut self,
        conn: &mut AnyConnection,
        roots: &[Sym],
    ) -> Result<Vec<Sym>, StorageError> {
        let mut seen: std::collections::HashSet<Sym, foldhash::fast::RandomState> =
            roots.iter().copied().collect();
        let mut all: Vec<Sym> = seen.iter().copied().collect();
        all.sort_unstable();
        let mut frontier = all.clone();
        while !frontier.is_empty() {
            self.load_children(conn, &frontier).await?;
            let mut next = Vec::new();
            for f in &frontier {
                for c in self.children_of_sym(*f) {
                    if seen.insert(c) {
                        next.push(c);
                    }
                }
            }
            all.extend(&next);
            frontier = next;
        }
        Ok(all)
    }

    fn names_of(&self, mut syms: Vec<Sym>) -> Vec<String> {
        syms.sort_unstable();
        syms.dedup();
        let mut out: Vec<String> = syms
            .into_iter()
            .map(|s| self.names.get(s).to_owned())
            .collect();
        out.sort_unstable();
        out
    }

    fn new_row(&self, gtin: Option<Sym>, event: i64, time: i64, state: Sym) -> Row {
        Row {
            stored: false,
            dirty: true,
            gtin,
            lot: None,
            expiry: None,
            commissioned_event: None,
            commissioned_at: None,
            parent: None,
            top: None,
            last_event: event,
            last_event_time: time,
            last_biz_step: None,
            last_disposition: None,
            owner: None,
            location: None,
            state,
            recalled: false,
        }
    }

    /// Commissions `keys` with lot and expiry. A key seen before but never commissioned becomes
    /// commissioned; a key commissioned before keeps its first commissioning. Returns those,
    /// for the caller's anomaly.
    pub(crate) async fn commission(
        &mut self,
        conn: &mut AnyConnection,
        keys: &[String],
        lot: Option<&str>,
        expiry: Option<&str>,
        c: &Change<'_>,
    ) -> Result<Vec<String>, StorageError> {
        let syms = self.syms(keys);
        self.load(conn, &syms).await?;
        let lot = self.names.opt(lot);
        let expiry = self.names.opt(expiry);
        let step = self.names.opt(c.biz_step);
        let disposition = self.names.opt(c.disposition);
        let owner = self.names.opt(c.owner);
        let location = self.names.opt(c.location);
        let active = self.active;
        let mut twice = Vec::new();
        for (key, sym) in keys.iter().zip(syms) {
            let gtin = gtin_of(key).map(|g| self.names.intern(g));
            match self.row_mut(sym) {
                Some(r) if r.commissioned_event.is_some() => {
                    if r.commissioned_event != Some(c.event) {
                        twice.push(sym);
                    }
                }
                Some(r) => {
                    r.gtin = gtin;
                    r.lot = lot;
                    r.expiry = expiry;
                    r.commissioned_event = Some(c.event);
                    r.commissioned_at = Some(c.time);
                    r.state = active;
                    r.dirty = true;
                }
                None => {
                    let row = Row {
                        lot,
                        expiry,
                        commissioned_event: Some(c.event),
                        commissioned_at: Some(c.time),
                        last_biz_step: step,
                        last_disposition: disposition,
                        owner,
                        location,
                        ..self.new_row(gtin, c.event, c.time, active)
                    };
                    self.put_row(sym, row);
                }
            }
        }
        Ok(self.names_of(twice))
    }

    /// Gives `keys` the ledger has never seen a row (state `unknown`).
    pub(crate) async fn ensure_known(
        &mut self,
        conn: &mut AnyConnection,
        keys: &[String],
        event: i64,
        time: i64,
    ) -> Result<(), StorageError> {
        let syms = self.syms(keys);
        self.load(conn, &syms).await?;
        for (key, sym) in keys.iter().zip(syms) {
            if matches!(self.slot(sym), Slot::Absent) {
                let gtin = gtin_of(key).map(|g| self.names.intern(g));
                let row = self.new_row(gtin, event, time, self.unknown);
                self.put_row(sym, row);
            }
        }
        Ok(())
    }

    /// Of `keys`, those whose cached row passes `keep` (`None`: no row), sorted, each once.
    async fn keys_where(
        &mut self,
        conn: &mut AnyConnection,
        keys: &[String],
        keep: impl Fn(&Names, Option<&Row>) -> bool,
    ) -> Result<Vec<String>, StorageError> {
        let syms = self.syms(keys);
        self.load(conn, &syms).await?;
        let kept = syms
            .into_iter()
            .filter(|s| keep(&self.names, self.row(*s)))
            .collect();
        Ok(self.names_of(kept))
    }

    /// Of `keys`, those never commissioned here (sorted, each once).
    pub(crate) async fn not_commissioned(
        &mut self,
        conn: &mut AnyConnection,
        keys: &[String],
    ) -> Result<Vec<String>, StorageError> {
        self.keys_where(conn, keys, |_, r| {
            r.is_none_or(|r| r.commissioned_event.is_none())
        })
        .await
    }

    /// Of `keys`, those decommissioned, destroyed or dispensed (sorted, each once).
    pub(crate) async fn inactive(
        &mut self,
        conn: &mut AnyConnection,
        keys: &[String],
    ) -> Result<Vec<String>, StorageError> {
        self.keys_where(conn, keys, |names, r| {
            r.is_some_and(|r| {
                matches!(
                    names.get(r.state),
                    "decommissioned" | "destroyed" | "dispensed"
                )
            })
        })
        .await
    }

    /// Applies `c` to `keys` and everything inside them, any depth; a row whose last event is
    /// newer than `c` keeps its state.
    pub(crate) async fn observe(
        &mut self,
        conn: &mut AnyConnection,
        keys: &[String],
        c: &Change<'_>,
    ) -> Result<(), StorageError> {
        let syms = self.syms(keys);
        self.load(conn, &syms).await?;
        let all = self.with_contents(conn, &syms).await?;
        let step = self.names.opt(c.biz_step);
        let disposition = self.names.opt(c.disposition);
        let owner = self.names.opt(c.owner);
        let location = self.names.opt(c.location);
        let state = self.names.opt(c.state);
        for sym in all {
            if let Some(r) = self.row_mut(sym)
                && r.last_event_time <= c.time
            {
                r.last_event = c.event;
                r.last_event_time = c.time;
                r.last_biz_step = step.or(r.last_biz_step);
                r.last_disposition = disposition.or(r.last_disposition);
                r.owner = owner.or(r.owner);
                r.location = location.or(r.location);
                r.state = state.unwrap_or(r.state);
                r.recalled |= c.recalled;
                r.dirty = true;
            }
        }
        Ok(())
    }

    /// Closes the open intervals of `child` (only those in `parent`, when given).
    fn close(&mut self, child: Sym, parent: Option<Sym>, event: i64, time: i64) {
        let open: Vec<(Sym, usize)> = self
            .open
            .range((child, 0)..=(child, usize::MAX))
            .copied()
            .collect();
        for (child, index) in open {
            if let Some(iv) = self.intervals.get_mut(index)
                && parent.is_none_or(|p| p == iv.parent)
            {
                iv.to = Some((event, time));
                self.open.remove(&(child, index));
            }
        }
    }

    /// Sets `top` on everything inside `roots` (distinct), not on the roots themselves.
    async fn set_top_inside(
        &mut self,
        conn: &mut AnyConnection,
        roots: &[Sym],
        top: Option<Sym>,
    ) -> Result<(), StorageError> {
        let all = self.with_contents(conn, roots).await?;
        for sym in all.into_iter().skip(roots.len()) {
            if let Some(r) = self.row_mut(sym)
                && r.top != top
            {
                r.top = top;
                r.dirty = true;
            }
        }
        Ok(())
    }

    /// Packs `children` into `parent` (which has a row): closes their open intervals, opens
    /// new ones, sets parent and top, and moves the top of everything inside them.
    pub(crate) async fn pack(
        &mut self,
        conn: &mut AnyConnection,
        parent: &str,
        children: &[String],
        c: &Change<'_>,
    ) -> Result<(), StorageError> {
        let parent = self.sym(parent);
        let syms = self.distinct(children);
        self.load(conn, &[&syms[..], &[parent]].concat()).await?;
        let top = self.row(parent).and_then(|r| r.top).unwrap_or(parent);
        let step = self.names.opt(c.biz_step);
        for &child in &syms {
            self.close(child, None, c.event, c.time);
            self.open.insert((child, self.intervals.len()));
            self.intervals.push(Interval {
                child,
                parent,
                from_event: c.event,
                from_time: c.time,
                to: None,
                stored: false,
            });
            let Some(r) = self.row_mut(child) else {
                continue;
            };
            let old_parent = r.parent.replace(parent);
            r.top = Some(top);
            r.last_event = c.event;
            r.last_event_time = r.last_event_time.max(c.time);
            r.last_biz_step = step.or(r.last_biz_step);
            r.dirty = true;
            if let Some(old) = old_parent {
                self.children.remove(&(old, child));
            }
            self.children.insert((parent, child));
        }
        self.set_top_inside(conn, &syms, Some(top)).await
    }

    /// The current children of `parent`, sorted.
    pub(crate) async fn children_of(
        &mut self,
        conn: &mut AnyConnection,
        parent: &str,
    ) -> Result<Vec<String>, StorageError> {
        let parent = self.sym(parent);
        self.load(conn, &[parent]).await?;
        self.load_children(conn, &[parent]).await?;
        let children = self.children_of_sym(parent).collect();
        Ok(self.names_of(children))
    }

    /// Of `children`, those not currently inside `parent` (sorted, each once).
    pub(crate) async fn not_inside(
        &mut self,
        conn: &mut AnyConnection,
        parent: &str,
        children: &[String],
    ) -> Result<Vec<String>, StorageError> {
        let parent = self.sym(parent);
        self.keys_where(conn, children, |_, r| {
            r.is_none_or(|r| r.parent != Some(parent))
        })
        .await
    }

    /// Unpacks those of `children` inside `parent`: closes their intervals in it, clears parent
    /// and top, and makes each the top of what is inside it.
    pub(crate) async fn unpack(
        &mut self,
        conn: &mut AnyConnection,
        parent: &str,
        children: &[String],
        c: &Change<'_>,
    ) -> Result<(), StorageError> {
        let parent = self.sym(parent);
        let syms = self.distinct(children);
        self.load(conn, &syms).await?;
        let step = self.names.opt(c.biz_step);
        let mut moved = Vec::with_capacity(syms.len());
        for &child in &syms {
            self.close(child, Some(parent), c.event, c.time);
            let Some(r) = self.row_mut(child) else {
                continue;
            };
            if r.parent != Some(parent) {
                continue;
            }
            r.parent = None;
            r.top = None;
            r.last_event = c.event;
            r.last_event_time = r.last_event_time.max(c.time);
            r.last_biz_step = step.or(r.last_biz_step);
            r.dirty = true;
            self.children.remove(&(parent, child));
            moved.push(child);
        }
        for child in moved {
            self.set_top_inside(conn, &[child], Some(child)).await?;
        }
        Ok(())
    }

    /// The row of `sym` in the form the store writes.
    fn serial_row(&self, sym: Sym, r: &Row) -> SerialRow<&str> {
        let name = |s: Sym| self.names.get(s);
        SerialRow {
            epc: name(sym),
            gtin: r.gtin.map(name),
            lot: r.lot.map(name),
            expiry: r.expiry.map(name),
            commissioned_event: r.commissioned_event,
            commissioned_at: r.commissioned_at,
            parent: r.parent.map(name),
            top: r.top.map(name),
            last_event: r.last_event,
            last_event_time: r.last_event_time,
            last_biz_step: r.last_biz_step.map(name),
            last_disposition: r.last_disposition.map(name),
            owner: r.owner.map(name),
            location: r.location.map(name),
            state: name(r.state),
            recalled: r.recalled,
        }
    }

    fn interval_child(&self, index: usize) -> &str {
        self.intervals
            .get(index)
            .map_or("", |iv| self.names.get(iv.child))
    }

    fn interval_row(&self, index: usize) -> Option<IntervalRow<'_>> {
        let iv = self.intervals.get(index)?;
        Some(IntervalRow {
            child: self.names.get(iv.child),
            parent: self.names.get(iv.parent),
            from_event: iv.from_event,
            from_time: iv.from_time,
            to_event: iv.to.map(|t| t.0),
            to_time: iv.to.map(|t| t.1),
        })
    }

    /// Writes every change to the store and empties the cache.
    pub(crate) async fn flush(&mut self, conn: &mut AnyConnection) -> Result<(), StorageError> {
        let mut inserts = Vec::new();
        let mut updates = Vec::new();
        for (index, slot) in self.slots.iter().enumerate() {
            if let Slot::Row(r) = slot
                && r.dirty
                && let Some(sym) = u32::try_from(index + 1).ok().and_then(NonZeroU32::new)
            {
                if r.stored {
                    updates.push(sym);
                } else {
                    inserts.push(sym);
                }
            }
        }
        // Key order: each B-tree page is written once, not once per row. Rows are turned into
        // their stored form a statement's worth at a time, to keep the flush's memory small.
        for (syms, insert) in [(&mut updates, false), (&mut inserts, true)] {
            syms.sort_unstable_by(|a, b| self.names.get(*a).cmp(self.names.get(*b)));
            for chunk in syms.chunks(store::ROWS_PER_STATEMENT) {
                let rows: Vec<SerialRow<&str>> = chunk
                    .iter()
                    .filter_map(|s| self.row(*s).map(|r| self.serial_row(*s, r)))
                    .collect();
                if insert {
                    store::insert_serials(conn, self.backend, &rows).await?;
                } else {
                    store::update_serials(conn, self.backend, &rows).await?;
                }
            }
        }

        // Intervals: stored ones closed since loaded are updated, new ones inserted in child
        // order, a statement's worth at a time.
        let mut closed = Vec::new();
        let mut new = Vec::new();
        for (index, iv) in self.intervals.iter().enumerate() {
            match (iv.stored, iv.to) {
                (false, _) => new.push(index),
                (true, Some(_)) => closed.push(index),
                (true, None) => {}
            }
        }
        new.sort_by(|a, b| self.interval_child(*a).cmp(self.interval_child(*b)));
        for (list, insert) in [(&closed, false), (&new, true)] {
            for chunk in list.chunks(store::ROWS_PER_STATEMENT) {
                let rows: Vec<IntervalRow<'_>> =
                    chunk.iter().filter_map(|i| self.interval_row(*i)).collect();
                if insert {
                    store::insert_intervals(conn, self.backend, &rows).await?;
                } else {
                    store::close_intervals(conn, self.backend, &rows).await?;
                }
            }
        }
        drop((closed, new));

        let mut epc_rows = std::mem::take(&mut self.epc_rows);
        epc_rows.sort_unstable_by(|a, b| {
            (self.names.get(a.key), a.event, a.role).cmp(&(self.names.get(b.key), b.event, b.role))
        });
        epc_rows.dedup();
        for chunk in epc_rows.chunks(store::EPC_ROWS_PER_STATEMENT) {
            let rows: Vec<(&str, i64, &str)> = chunk
                .iter()
                .map(|r| (self.names.get(r.key), r.event, r.role))
                .collect();
            store::insert_event_epcs(conn, self.backend, &rows).await?;
        }
        self.discard();
        Ok(())
    }

    /// Empties the cache without writing (the transaction it belonged to rolled back, or it
    /// was flushed).
    pub(crate) fn discard(&mut self) {
        let backend = self.backend;
        *self = Self::new(backend);
    }
}

/// The `keys` that `wanted` keeps, sorted, each once (the order the store is read in).
fn sorted_unique(keys: &[Sym], wanted: impl Fn(Sym) -> bool) -> Vec<Sym> {
    let mut out: Vec<Sym> = keys.iter().copied().filter(|&k| wanted(k)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtin_of_a_key_is_what_sql_substr_gives() {
        assert_eq!(
            gtin_of("https://id.gs1.org/01/10614141073464/21/2018"),
            Some("10614141073464")
        );
        assert_eq!(gtin_of("https://id.gs1.org/01/123"), Some("123"));
        assert_eq!(gtin_of("https://id.gs1.org/00/106141410000000001"), None);
        assert_eq!(gtin_of("urn:epc:id:sgtin:0614141.107346.2018"), None);
    }

    #[test]
    fn names_are_interned_once() {
        let mut n = Names::default();
        let a = n.intern("a");
        let b = n.intern("b");
        assert_ne!(a, b);
        assert_eq!(n.intern("a"), a);
        assert_eq!(n.get(b), "b");
    }
}
