//! The repository's one dynamic query: the EPCIS event query (`../shared/STYLE.md` rule 9).
//!
//! A query is a list of [`Condition`]s, ANDed, each built by `services::query` from one URL
//! parameter. This module turns them into SQL with two kinds of text only:
//!
//! - fragments written here as `&'static str` (column names from [`Column`], operators from
//!   [`Cmp`], sub-selects over the repository tables), through `Sql::push`, which takes
//!   nothing else;
//! - placeholders `$n`, each with its value in [`Sql::binds`], through `Sql::bind`.
//!
//! No text from a request becomes SQL. The caller's visibility condition
//! ([`partners::visibility::SqlCondition`], itself fragments from a closed enum plus binds) is
//! ANDed into every statement here; there is no function that reads events without one.
//!
//! EPC matching works on the stored canonical keys (`crate::stored::epc_key`): an exact key is
//! an equality, an EPC pattern a key-prefix range `key >= p AND key < succ(p)` (PostgreSQL keeps
//! the EPC columns in the byte-wise `C` collation and SQLite compares text byte-wise, so both
//! can use the `(epc, …)` indexes).
//!
//! Indexed conditions are written `e.id IN (SELECT … FROM <index table> WHERE …)` rather than as
//! correlated `EXISTS`: both planners then start from the index on the value (one serial, one
//! purchase order) instead of walking every event in result order and probing.

use sqlx::{AnyConnection, AssertSqlSafe};

use partners::visibility::{EventSchema, SqlCondition};

use super::StorageError;
use crate::stored::{EpcRole, FieldScope};

/// Where the visibility policy finds events and their party GLNs in this repository.
pub const EVENT_SCHEMA: EventSchema = EventSchema {
    event_id: "e.id",
    captured_by: "e.captured_by",
    parties_table: "event_parties",
    parties_event_id: "event",
    parties_gln: "gln",
    request_events_table: "fda_request_events",
    requests_table: "fda_records_requests",
};

/// A column of `events` a condition or a listing may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// `action`.
    Action,
    /// `biz_location` (stored EPC key).
    BizLocation,
    /// `biz_step` (canonical CBV form).
    BizStep,
    /// `disposition` (canonical CBV form).
    Disposition,
    /// `event_type` (`ObjectEvent`, …).
    EventType,
    /// `read_point` (stored EPC key).
    ReadPoint,
    /// `transformation_id`.
    TransformationId,
}

impl Column {
    fn sql(self) -> &'static str {
        match self {
            Self::Action => "e.action",
            Self::BizLocation => "e.biz_location",
            Self::BizStep => "e.biz_step",
            Self::Disposition => "e.disposition",
            Self::EventType => "e.event_type",
            Self::ReadPoint => "e.read_point",
            Self::TransformationId => "e.transformation_id",
        }
    }
}

/// A time column of `events` (microseconds, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeColumn {
    /// `event_time`.
    EventTime,
    /// `record_time`.
    RecordTime,
}

impl TimeColumn {
    fn sql(self) -> &'static str {
        match self {
            Self::EventTime => "e.event_time",
            Self::RecordTime => "e.record_time",
        }
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmp {
    /// `=`.
    Eq,
    /// `>=`.
    Ge,
    /// `>`.
    Gt,
    /// `<=`.
    Le,
    /// `<`.
    Lt,
}

impl Cmp {
    fn sql(self) -> &'static str {
        match self {
            Self::Eq => " = ",
            Self::Ge => " >= ",
            Self::Gt => " > ",
            Self::Le => " <= ",
            Self::Lt => " < ",
        }
    }
}

/// How a stored EPC key is matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyMatch {
    /// The key equals this.
    Exact(String),
    /// The key starts with `from` (and so lies in `[from, until)`, `until` being `from` with its
    /// last byte incremented).
    Prefix {
        /// The prefix.
        from: String,
        /// The least string greater than every string starting with `from`.
        until: String,
    },
}

impl KeyMatch {
    /// The range of keys starting with `prefix`; `None` when `prefix` is empty or does not end
    /// in a printable ASCII character below `~` (every generated prefix does).
    pub fn prefix(prefix: &str) -> Option<Self> {
        let last = *prefix.as_bytes().last()?;
        if !(0x20..0x7e).contains(&last) {
            return None;
        }
        let mut until = prefix[..prefix.len() - 1].to_owned();
        until.push(char::from(last + 1));
        Some(Self::Prefix {
            from: prefix.to_owned(),
            until,
        })
    }
}

/// Which party list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `sourceList`.
    Source,
    /// `destinationList`.
    Destination,
}

impl Direction {
    fn sql(self) -> &'static str {
        match self {
            Self::Source => "'source'",
            Self::Destination => "'destination'",
        }
    }
}

/// What a flexible field must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldTest {
    /// The field is present (`true`) or absent (`false`).
    Exists(bool),
    /// Its text is one of these.
    TextIn(Vec<String>),
    /// Its numeric value (number, or date-time in microseconds) compares so.
    Num(Cmp, f64),
}

/// One ANDed condition of an event query. Values inside are bound, never written into SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The column is one of the values.
    In {
        /// Which column.
        column: Column,
        /// The accepted values (ORed).
        values: Vec<String>,
    },
    /// The column's stored key matches one of these (a location and its extensions).
    ColumnKeys {
        /// `ReadPoint` or `BizLocation`.
        column: Column,
        /// Keys (ORed).
        keys: Vec<KeyMatch>,
    },
    /// The declared event ID or the hash ID is one of these.
    EventIdIn(Vec<String>),
    /// A source or destination (any type) has this 13-digit GLN.
    PartyGln(String),
    /// A time comparison.
    Time {
        /// Which time.
        column: TimeColumn,
        /// How.
        cmp: Cmp,
        /// Microseconds since the epoch, UTC.
        micros: i64,
    },
    /// The location column is one of the roots or a descendant of one in `location_hierarchy`.
    WithDescendants {
        /// `ReadPoint` or `BizLocation`.
        column: Column,
        /// Stored keys of the roots.
        roots: Vec<String>,
    },
    /// An instance identifier in one of the roles matches one of the keys.
    Epcs {
        /// Roles searched.
        roles: Vec<EpcRole>,
        /// Keys (ORed).
        keys: Vec<KeyMatch>,
    },
    /// A class identifier of a quantity list in one of the roles matches one of the keys.
    Classes {
        /// Roles searched.
        roles: Vec<EpcRole>,
        /// Keys (ORed).
        keys: Vec<KeyMatch>,
    },
    /// A quantity element's quantity compares so (and has this unit, when given).
    Quantity {
        /// How.
        cmp: Cmp,
        /// The value compared with.
        value: f64,
        /// The unit of measure required, if any.
        uom: Option<String>,
    },
    /// A business transaction of this type (canonical) has one of the IDs.
    BizTransaction {
        /// Canonical type URN (or the type as written when not a CBV word).
        kind: String,
        /// Transaction IDs (ORed).
        ids: Vec<String>,
    },
    /// A source or destination of this type (canonical) is one of the IDs (stored keys).
    Party {
        /// Source or destination.
        direction: Direction,
        /// Canonical type URN.
        kind: String,
        /// Stored keys (ORed).
        ids: Vec<String>,
    },
    /// The event has (`true`) or has no (`false`) error declaration.
    ErrorDeclared(bool),
    /// One of its error declarations has a declaration time comparing so.
    ErrorTime {
        /// How.
        cmp: Cmp,
        /// Microseconds since the epoch, UTC.
        micros: i64,
    },
    /// One of its error declarations has one of these reasons (canonical).
    ErrorReason(Vec<String>),
    /// One of its error declarations names one of these corrective event IDs.
    CorrectiveEventId(Vec<String>),
    /// The event has (`exists`) or has no flattened field in any of the scopes.
    HasFields {
        /// Scopes searched.
        scopes: Vec<FieldScope>,
        /// Present or absent.
        exists: bool,
    },
    /// A flattened field (`event_fields`) passes a test.
    Field {
        /// Scopes searched.
        scopes: Vec<FieldScope>,
        /// `INNER_`: nested fields (depth ≥ 1) instead of top-level ones.
        inner: bool,
        /// Accepted namespace spellings.
        namespaces: Vec<String>,
        /// Local name.
        name: String,
        /// The test.
        test: FieldTest,
    },
}

/// A value to bind.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    /// Text.
    Text(String),
    /// An integer.
    Int(i64),
    /// A float.
    Real(f64),
}

/// SQL under construction: static fragments and numbered placeholders with their values.
#[derive(Debug, Default)]
pub struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    /// Appends a fragment written in this module.
    fn push(&mut self, fragment: &'static str) {
        self.text.push_str(fragment);
    }

    /// Appends a placeholder for `value`.
    fn bind(&mut self, value: Bind) {
        self.binds.push(value);
        self.text.push('$');
        self.text.push_str(&self.binds.len().to_string());
    }

    fn text(&mut self, value: &str) {
        self.bind(Bind::Text(value.to_owned()));
    }

    /// `(v1, v2, …)` as placeholders.
    fn text_list(&mut self, values: &[String]) {
        self.push("(");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.text(v);
        }
        self.push(")");
    }

    /// The caller's visibility condition, numbered after the binds so far.
    fn visibility(&mut self, condition: &SqlCondition) {
        // The rendered text comes from `partners::visibility` fragments and EVENT_SCHEMA's
        // static names; its values are appended as binds in placeholder order.
        let rendered = condition.render(&EVENT_SCHEMA, self.binds.len() + 1);
        self.text.push_str(&rendered);
        self.binds
            .extend(condition.binds.iter().cloned().map(Bind::Text));
    }

    /// The statement text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The values, in placeholder order.
    pub fn binds(&self) -> &[Bind] {
        &self.binds
    }

    fn roles(&mut self, roles: &[EpcRole]) {
        self.push("(");
        for (i, r) in roles.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push(match r {
                EpcRole::Epc => "'epc'",
                EpcRole::Parent => "'parent'",
                EpcRole::Child => "'child'",
                EpcRole::Input => "'input'",
                EpcRole::Output => "'output'",
            });
        }
        self.push(")");
    }

    fn scopes(&mut self, scopes: &[FieldScope]) {
        self.push("(");
        for (i, s) in scopes.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push(scope_sql(*s));
        }
        self.push(")");
    }

    /// `(col = $a OR (col >= $b AND col < $c) …)`
    fn keys(&mut self, column: &'static str, keys: &[KeyMatch]) {
        self.push("(");
        for (i, k) in keys.iter().enumerate() {
            if i > 0 {
                self.push(" OR ");
            }
            match k {
                KeyMatch::Exact(v) => {
                    self.push(column);
                    self.push(" = ");
                    self.text(v);
                }
                KeyMatch::Prefix { from, until } => {
                    self.push("(");
                    self.push(column);
                    self.push(" >= ");
                    self.text(from);
                    self.push(" AND ");
                    self.push(column);
                    self.push(" < ");
                    self.text(until);
                    self.push(")");
                }
            }
        }
        self.push(")");
    }

    fn condition(&mut self, c: &Condition) {
        match c {
            Condition::In { column, values } => {
                self.push(column.sql());
                self.push(" IN ");
                self.text_list(values);
            }
            Condition::ColumnKeys { column, keys } => self.keys(column.sql(), keys),
            Condition::PartyGln(gln) => {
                self.push("e.id IN (SELECT p.event FROM event_parties p WHERE p.gln = ");
                self.text(gln);
                self.push(")");
            }
            Condition::EventIdIn(ids) => {
                self.push("(e.event_id IN ");
                self.text_list(ids);
                self.push(" OR e.hash_id IN ");
                self.text_list(ids);
                self.push(")");
            }
            Condition::Time {
                column,
                cmp,
                micros,
            } => {
                self.push(column.sql());
                self.push(cmp.sql());
                self.bind(Bind::Int(*micros));
            }
            Condition::WithDescendants { column, roots } => {
                self.push(column.sql());
                self.push(" IN (WITH RECURSIVE wd(loc) AS (");
                for (i, r) in roots.iter().enumerate() {
                    if i > 0 {
                        self.push(" UNION ");
                    }
                    self.push("SELECT CAST(");
                    self.text(r);
                    self.push(" AS TEXT)");
                }
                self.push(
                    " UNION SELECT h.child FROM location_hierarchy h JOIN wd ON h.parent = wd.loc) \
                     SELECT loc FROM wd)",
                );
            }
            Condition::Epcs { roles, keys } => {
                self.push("e.id IN (SELECT x.event FROM event_epcs x WHERE ");
                self.keys("x.epc", keys);
                self.push(" AND x.role IN ");
                self.roles(roles);
                self.push(")");
            }
            Condition::Classes { roles, keys } => {
                self.push("e.id IN (SELECT c.event FROM event_classes c WHERE ");
                self.keys("c.epc_class", keys);
                self.push(" AND c.role IN ");
                self.roles(roles);
                self.push(")");
            }
            Condition::Quantity { cmp, value, uom } => {
                self.push("e.id IN (SELECT q.event FROM event_classes q WHERE q.quantity");
                self.push(cmp.sql());
                self.bind(Bind::Real(*value));
                if let Some(uom) = uom {
                    self.push(" AND q.uom = ");
                    self.text(uom);
                }
                self.push(")");
            }
            Condition::BizTransaction { kind, ids } => {
                self.push("e.id IN (SELECT b.event FROM event_biz_transactions b WHERE b.id IN ");
                self.text_list(ids);
                self.push(" AND b.type = ");
                self.text(kind);
                self.push(")");
            }
            Condition::Party {
                direction,
                kind,
                ids,
            } => {
                self.push("e.id IN (SELECT p.event FROM event_parties p WHERE p.id IN ");
                self.text_list(ids);
                self.push(" AND p.direction = ");
                self.push(direction.sql());
                self.push(" AND p.type = ");
                self.text(kind);
                self.push(")");
            }
            Condition::ErrorDeclared(true) => {
                self.push("e.id IN (SELECT d.event FROM event_error_declarations d)");
            }
            Condition::ErrorDeclared(false) => {
                self.push("e.id NOT IN (SELECT d.event FROM event_error_declarations d)");
            }
            Condition::ErrorTime { cmp, micros } => {
                self.push(
                    "e.id IN (SELECT d.event FROM event_error_declarations d WHERE d.declaration_time",
                );
                self.push(cmp.sql());
                self.bind(Bind::Int(*micros));
                self.push(")");
            }
            Condition::ErrorReason(reasons) => {
                self.push(
                    "e.id IN (SELECT d.event FROM event_error_declarations d WHERE d.reason IN ",
                );
                self.text_list(reasons);
                self.push(")");
            }
            Condition::CorrectiveEventId(ids) => {
                self.push(
                    "e.id IN (SELECT d.event FROM event_error_declarations d \
                     JOIN error_corrective_events ce ON ce.declaration = d.id \
                     WHERE ce.corrective_event_id IN ",
                );
                self.text_list(ids);
                self.push(")");
            }
            Condition::HasFields { scopes, exists } => {
                self.push(if *exists {
                    "e.id IN (SELECT f.event FROM event_fields f WHERE f.scope IN "
                } else {
                    "e.id NOT IN (SELECT f.event FROM event_fields f WHERE f.scope IN "
                });
                self.scopes(scopes);
                self.push(")");
            }
            Condition::Field {
                scopes,
                inner,
                namespaces,
                name,
                test,
            } => {
                self.push(if *test == FieldTest::Exists(false) {
                    "e.id NOT IN (SELECT f.event FROM event_fields f WHERE f.scope IN "
                } else {
                    "e.id IN (SELECT f.event FROM event_fields f WHERE f.scope IN "
                });
                self.scopes(scopes);
                self.push(" AND f.name = ");
                self.text(name);
                self.push(" AND f.namespace IN ");
                self.text_list(namespaces);
                self.push(if *inner {
                    " AND f.depth >= 1"
                } else {
                    " AND f.depth = 0"
                });
                match test {
                    FieldTest::Exists(_) => {}
                    FieldTest::TextIn(values) => {
                        self.push(" AND f.text_value IN ");
                        self.text_list(values);
                    }
                    FieldTest::Num(cmp, v) => {
                        self.push(" AND f.num_value");
                        self.push(cmp.sql());
                        self.bind(Bind::Real(*v));
                    }
                }
                self.push(")");
            }
        }
    }

    /// ` WHERE c1 AND c2 … AND <visibility>`
    fn where_clause(&mut self, conditions: &[Condition], visibility: &SqlCondition) {
        self.push(" WHERE ");
        for c in conditions {
            self.condition(c);
            self.push(" AND ");
        }
        self.visibility(visibility);
    }
}

fn scope_sql(scope: FieldScope) -> &'static str {
    match scope {
        FieldScope::Ilmd => "'ilmd'",
        FieldScope::Extension => "'ext'",
        FieldScope::ReadPoint => "'read_point'",
        FieldScope::BizLocation => "'biz_location'",
        FieldScope::ErrorDeclaration => "'error_declaration'",
        FieldScope::SensorElement => "'sensor_element'",
        FieldScope::SensorMetadata => "'sensor_metadata'",
        FieldScope::SensorReport => "'sensor_report'",
        FieldScope::PersistentDisposition => "'persistent_disposition'",
    }
}

/// The order of an event query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Order {
    /// Capture order (`events.id`): the default, and the cheapest.
    Capture,
    /// `eventTime`, ties by capture order.
    EventTime,
    /// `recordTime`, ties by capture order.
    RecordTime,
}

impl Order {
    fn sql(self) -> &'static str {
        match self {
            Self::Capture => "e.id",
            Self::EventTime => "e.event_time",
            Self::RecordTime => "e.record_time",
        }
    }
}

/// One page of an event query.
#[derive(Debug)]
pub struct EventSelect<'a> {
    /// The conditions, ANDed.
    pub conditions: &'a [Condition],
    /// The caller's visibility.
    pub visibility: &'a SqlCondition,
    /// Sort key.
    pub order: Order,
    /// Newest (largest) first.
    pub descending: bool,
    /// Continue after this (order value, event id).
    pub after: Option<(i64, i64)>,
    /// At most this many rows.
    pub limit: i64,
}

/// An event row as a query returns it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    /// `events.id`.
    pub id: i64,
    /// The value of the sort key (the id itself in capture order).
    pub order_value: i64,
    /// The stored body (one-event EPCIS 2.0 XML).
    pub body: String,
    /// 1 when the event has error declarations (so a page without any needs no second query).
    pub declared: i64,
}

/// The statement of one page, for tests and `EXPLAIN`.
pub fn event_select_sql(q: &EventSelect<'_>) -> Sql {
    let mut sql = Sql::default();
    sql.push("SELECT e.id, ");
    sql.push(q.order.sql());
    sql.push(
        " AS order_value, e.body, CASE WHEN EXISTS (SELECT 1 FROM event_error_declarations dd \
         WHERE dd.event = e.id) THEN 1 ELSE 0 END AS declared FROM events e",
    );
    sql.where_clause(q.conditions, q.visibility);
    let (cmp, dir) = if q.descending {
        (" < ", " DESC")
    } else {
        (" > ", " ASC")
    };
    if let Some((value, id)) = q.after {
        if q.order == Order::Capture {
            sql.push(" AND e.id");
            sql.push(cmp);
            sql.bind(Bind::Int(id));
        } else {
            sql.push(" AND (");
            sql.push(q.order.sql());
            sql.push(", e.id)");
            sql.push(cmp);
            sql.push("(");
            sql.bind(Bind::Int(value));
            sql.push(", ");
            sql.bind(Bind::Int(id));
            sql.push(")");
        }
    }
    sql.push(" ORDER BY ");
    if q.order != Order::Capture {
        sql.push(q.order.sql());
        sql.push(dir);
        sql.push(", ");
    }
    sql.push("e.id");
    sql.push(dir);
    sql.push(" LIMIT ");
    sql.bind(Bind::Int(q.limit));
    sql
}

fn bound<'q, O>(
    mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>,
    binds: &[Bind],
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments> {
    for b in binds {
        query = match b {
            Bind::Text(s) => query.bind(s.clone()),
            Bind::Int(i) => query.bind(*i),
            Bind::Real(f) => query.bind(*f),
        };
    }
    query
}

/// One page of events.
pub async fn select_events(
    conn: &mut AnyConnection,
    q: &EventSelect<'_>,
) -> Result<Vec<EventRow>, StorageError> {
    let sql = event_select_sql(q);
    let query = sqlx::query_as::<_, EventRow>(AssertSqlSafe(sql.text.clone()));
    Ok(bound(query, &sql.binds).fetch_all(&mut *conn).await?)
}

/// How many events match, counting no further than `cap` (for `maxEventCount`).
pub async fn count_events(
    conn: &mut AnyConnection,
    conditions: &[Condition],
    visibility: &SqlCondition,
    cap: i64,
) -> Result<i64, StorageError> {
    let mut sql = Sql::default();
    sql.push("SELECT COUNT(*) FROM (SELECT 1 AS one FROM events e");
    sql.where_clause(conditions, visibility);
    sql.push(" LIMIT ");
    sql.bind(Bind::Int(cap));
    sql.push(") capped");
    let query = sqlx::query_as::<_, (i64,)>(AssertSqlSafe(sql.text.clone()));
    Ok(bound(query, &sql.binds).fetch_one(&mut *conn).await?.0)
}

/// The visible events whose declared event ID or hash ID is `id`, in capture order.
pub async fn events_by_id(
    conn: &mut AnyConnection,
    id: &str,
    visibility: &SqlCondition,
) -> Result<Vec<EventRow>, StorageError> {
    let conditions = [Condition::EventIdIn(vec![id.to_owned()])];
    select_events(
        conn,
        &EventSelect {
            conditions: &conditions,
            visibility,
            order: Order::Capture,
            descending: false,
            after: None,
            limit: 1000,
        },
    )
    .await
}

/// A stored error declaration: the declared event and the declaring event's stored body.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeclarationRow {
    /// `events.id` of the declared event.
    pub event: i64,
    /// The declaring event (one-event EPCIS 2.0 XML).
    pub body: String,
}

/// The error declarations of these events, oldest first per event. The events must come from
/// a visibility-filtered query: a declaration is shown with the event it declares.
pub async fn declarations(
    conn: &mut AnyConnection,
    events: &[i64],
) -> Result<Vec<DeclarationRow>, StorageError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::default();
    sql.push("SELECT d.event, d.body FROM event_error_declarations d WHERE d.event IN (");
    for (i, id) in events.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(Bind::Int(*id));
    }
    sql.push(") ORDER BY d.event, d.declaration_time, d.id");
    let query = sqlx::query_as::<_, DeclarationRow>(AssertSqlSafe(sql.text.clone()));
    Ok(bound(query, &sql.binds).fetch_all(&mut *conn).await?)
}

/// The distinct values of `column` over the visible events, ascending, after `after`.
pub async fn distinct_values(
    conn: &mut AnyConnection,
    column: Column,
    visibility: &SqlCondition,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<String>, StorageError> {
    let mut sql = Sql::default();
    sql.push("SELECT DISTINCT ");
    sql.push(column.sql());
    sql.push(" FROM events e WHERE ");
    sql.push(column.sql());
    sql.push(" IS NOT NULL AND ");
    sql.visibility(visibility);
    if let Some(after) = after {
        sql.push(" AND ");
        sql.push(column.sql());
        sql.push(" > ");
        sql.text(after);
    }
    sql.push(" ORDER BY 1 LIMIT ");
    sql.bind(Bind::Int(limit));
    let query = sqlx::query_as::<_, (String,)>(AssertSqlSafe(sql.text.clone()));
    Ok(bound(query, &sql.binds)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(v,)| v)
        .collect())
}

/// True when some visible event matches all the conditions.
pub async fn any_event(
    conn: &mut AnyConnection,
    conditions: &[Condition],
    visibility: &SqlCondition,
) -> Result<bool, StorageError> {
    Ok(count_events(conn, conditions, visibility, 1).await? > 0)
}

/// The key that signs page tokens (created on first use, shared by every server on the
/// database, so a token from one replica works on another).
pub async fn page_token_key(conn: &mut AnyConnection, fresh: &str) -> Result<String, StorageError> {
    // Read first: once the key exists (the server makes it at start) a read-only connection
    // (the MCP tools') can page without writing.
    let existing: Option<(String,)> =
        sqlx::query_as("SELECT key FROM query_page_token_key WHERE id = 1")
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((key,)) = existing {
        return Ok(key);
    }
    sqlx::query(
        "INSERT INTO query_page_token_key (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
    )
    .bind(fresh)
    .execute(&mut *conn)
    .await?;
    let (key,): (String,) = sqlx::query_as("SELECT key FROM query_page_token_key WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> SqlCondition {
        partners::Visibility::All.condition()
    }

    #[test]
    fn values_are_placeholders_and_visibility_is_numbered_after_them() {
        let conditions = [
            Condition::In {
                column: Column::BizStep,
                values: vec![
                    "urn:epcglobal:cbv:bizstep:shipping".into(),
                    "x' OR 1=1".into(),
                ],
            },
            Condition::Epcs {
                roles: vec![EpcRole::Epc, EpcRole::Child],
                keys: vec![KeyMatch::prefix("https://id.gs1.org/01/10614141073464/").unwrap()],
            },
        ];
        let vis = partners::Visibility::PartyTo {
            captured_by: "acme".parse().unwrap(),
            glns: vec!["0614141000005".parse().unwrap()],
        }
        .condition();
        let sql = event_select_sql(&EventSelect {
            conditions: &conditions,
            visibility: &vis,
            order: Order::EventTime,
            descending: true,
            after: Some((5, 7)),
            limit: 31,
        });
        assert_eq!(
            sql.as_str(),
            "SELECT e.id, e.event_time AS order_value, e.body, CASE WHEN EXISTS (SELECT 1 FROM \
             event_error_declarations dd WHERE dd.event = e.id) THEN 1 ELSE 0 END AS declared \
             FROM events e WHERE \
             e.biz_step IN ($1, $2) AND e.id IN (SELECT x.event FROM event_epcs x WHERE \
             ((x.epc >= $3 AND x.epc < $4)) AND x.role IN ('epc', 'child')) AND \
             (e.captured_by = $5 OR EXISTS (SELECT 1 FROM event_parties vis_p WHERE \
             vis_p.event = e.id AND vis_p.gln IN ($6))) AND (e.event_time, e.id) < ($7, $8) \
             ORDER BY e.event_time DESC, e.id DESC LIMIT $9"
        );
        assert!(!sql.as_str().contains("OR 1=1"));
        assert_eq!(sql.binds().len(), 9);
        assert_eq!(
            sql.binds()[3],
            Bind::Text("https://id.gs1.org/01/106141410734640".into())
        );
    }

    #[test]
    fn a_prefix_range_ends_just_past_the_prefix() {
        assert_eq!(
            KeyMatch::prefix("ab/"),
            Some(KeyMatch::Prefix {
                from: "ab/".into(),
                until: "ab0".into()
            })
        );
        assert_eq!(KeyMatch::prefix(""), None);
        assert_eq!(KeyMatch::prefix("a~"), None);
    }

    #[test]
    fn capture_order_pages_by_id_alone() {
        let sql = event_select_sql(&EventSelect {
            conditions: &[],
            visibility: &all(),
            order: Order::Capture,
            descending: false,
            after: Some((9, 9)),
            limit: 2,
        });
        assert_eq!(
            sql.as_str(),
            "SELECT e.id, e.id AS order_value, e.body, CASE WHEN EXISTS (SELECT 1 FROM \
             event_error_declarations dd WHERE dd.event = e.id) THEN 1 ELSE 0 END AS declared \
             FROM events e WHERE (TRUE) AND e.id > $1 \
             ORDER BY e.id ASC LIMIT $2"
        );
    }
}
