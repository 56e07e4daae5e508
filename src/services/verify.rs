//! Verification of product identifiers: "is this serial genuine?", answered from the serial
//! ledger in the GS1 Lightweight Messaging (VRS) response shape (`../shared/reference/dscsa.md`
//! §1). REST (`GET /vrs/...`), the CLI (`dscsa verify`) and investigations call [`verify`];
//! every answer is written to the `verifications` log (requester, request, the answer as sent).
//!
//! Matching follows the guideline's order: GTIN and serial first (a miss there ends it with
//! `No_match_GTIN_Serial`, whatever the lot and expiry), then lot and expiry, where an expiry
//! with day `00` matches any day of its month and an FDA-extended expiry matches as well as the
//! printed one. When the identifier matches, `additionalInfo` reports the ledger's state, the
//! most serious first: `Illegitimate`, `Suspect`, `Recalled`, `Expired`, `ExpirationExtended`.
//! An illegitimate, decommissioned or destroyed package is answered `verified: false` with
//! `Not_for_re-distribution`: it matches our records but must not re-enter the supply chain.

use std::fmt;

use epcis::id::{Expiry, Gtin, ScannedProduct};
use serde::Serialize;

use super::ledger_reads::LedgerReads;
use crate::config::OrganisationSettings;
use crate::storage::verify::{self as store, LedgerEntry, LogEntry};
use crate::storage::{Db, StorageError};

/// Context values accepted in `context` (the Lightweight Messaging guideline's verification
/// reasons that are published; others are refused with 400 rather than guessed at).
pub const CONTEXTS: [&str; 2] = ["dscsaSaleableReturn", "dscsaExceptionVerification"];

/// Why a verification was not positive (`verificationFailureReason`), spelled as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum FailureReason {
    /// The GTIN and serial are not in our records.
    #[serde(rename = "No_match_GTIN_Serial")]
    NoMatchGtinSerial,
    /// GTIN and serial match; lot and expiry do not.
    #[serde(rename = "No_match_GTIN_Serial_Lot_Expiry")]
    NoMatchGtinSerialLotExpiry,
    /// GTIN and serial match; the lot does not.
    #[serde(rename = "No_match_GTIN_Serial_Lot")]
    NoMatchGtinSerialLot,
    /// GTIN, serial and lot match; the expiry does not.
    #[serde(rename = "No_match_GTIN_Serial_Expiry")]
    NoMatchGtinSerialExpiry,
    /// The identifier matches, but the product must not be redistributed.
    #[serde(rename = "Not_for_re-distribution")]
    NotForRedistribution,
}

impl FailureReason {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoMatchGtinSerial => "No_match_GTIN_Serial",
            Self::NoMatchGtinSerialLotExpiry => "No_match_GTIN_Serial_Lot_Expiry",
            Self::NoMatchGtinSerialLot => "No_match_GTIN_Serial_Lot",
            Self::NoMatchGtinSerialExpiry => "No_match_GTIN_Serial_Expiry",
            Self::NotForRedistribution => "Not_for_re-distribution",
        }
    }
}

/// What the ledger says about a matching package (`additionalInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum AdditionalInfo {
    /// Determined illegitimate in an investigation.
    Illegitimate,
    /// Under investigation as suspect product.
    Suspect,
    /// Its lot is recalled.
    Recalled,
    /// Past its (possibly extended) expiry date.
    Expired,
    /// Its lot's expiry was extended by FDA.
    ExpirationExtended,
}

impl AdditionalInfo {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Illegitimate => "Illegitimate",
            Self::Suspect => "Suspect",
            Self::Recalled => "Recalled",
            Self::Expired => "Expired",
            Self::ExpirationExtended => "ExpirationExtended",
        }
    }
}

/// The `data` member of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnswerData {
    /// Whether the product identifier is verified.
    pub verified: bool,
    /// Why not (only when `verified` is false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_failure_reason: Option<FailureReason>,
    /// The ledger's state of a matching package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<AdditionalInfo>,
}

/// A verification answer in the Lightweight Messaging response shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// When the answer was made (UTC, milliseconds).
    pub verification_timestamp: String,
    /// The home organisation's GLN.
    #[serde(rename = "responderGLN")]
    pub responder_gln: String,
    /// The result.
    pub data: AnswerData,
    /// The requester's correlation id, or one made for this answer.
    #[serde(rename = "corrUUID")]
    pub corr_uuid: String,
}

/// A verification request, checked: every field has passed [`Request::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    gtin: Gtin,
    lot: Option<String>,
    serial: String,
    expiry: Option<Expiry>,
    req_gln: Option<String>,
    context: Option<String>,
    corr_uuid: Option<String>,
}

/// A field of a request that is malformed: the 400 answer names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BadField {
    /// The wire name of the field (`gtin`, `lot`, `ser`, `exp`, `reqGLN`, `corrUUID`, ...).
    pub field: &'static str,
    /// What is wrong, with the value.
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> BadField {
    BadField {
        field,
        message: message.into(),
    }
}

/// Fields a request is made of, as received (strings from a URL, a CLI, a tool call).
#[derive(Debug, Clone, Default)]
pub struct RawRequest<'a> {
    /// GTIN-14.
    pub gtin: &'a str,
    /// Lot (batch) number; `None` when the caller did not give one.
    pub lot: Option<&'a str>,
    /// Serial number.
    pub serial: &'a str,
    /// Expiry `YYMMDD` (day `00`: the whole month).
    pub exp: Option<&'a str>,
    /// Requester GLN.
    pub req_gln: Option<&'a str>,
    /// Verification context.
    pub context: Option<&'a str>,
    /// Correlation id to echo.
    pub corr_uuid: Option<&'a str>,
}

impl Request {
    /// Checks every field of a request.
    ///
    /// # Errors
    /// The first malformed field.
    pub fn new(raw: &RawRequest<'_>) -> Result<Self, BadField> {
        let gtin = Gtin::parse(raw.gtin).map_err(|e| bad("gtin", e.to_string()))?;
        let lot = raw
            .lot
            .map(|l| id_text("lot", l).map(str::to_owned))
            .transpose()?;
        let serial = id_text("ser", raw.serial)?.to_owned();
        let expiry = raw
            .exp
            .map(|e| {
                Expiry::parse_yymmdd(e)
                    .map_err(|err| bad("exp", format!("{e:?} is not a YYMMDD date: {err}")))
            })
            .transpose()?;
        let req_gln = raw
            .req_gln
            .map(|g| {
                g.parse::<partners::Gln>()
                    .map(|g| g.to_string())
                    .map_err(|e| bad("reqGLN", e.to_string()))
            })
            .transpose()?;
        let context = raw
            .context
            .map(|c| {
                if CONTEXTS.contains(&c) {
                    Ok(c.to_owned())
                } else {
                    Err(bad(
                        "context",
                        format!("{c:?} is not a supported context; use one of {CONTEXTS:?}"),
                    ))
                }
            })
            .transpose()?;
        let corr_uuid = raw
            .corr_uuid
            .map(|u| {
                uuid::Uuid::parse_str(u)
                    .map(|_| u.to_owned())
                    .map_err(|e| bad("corrUUID", format!("{u:?} is not a UUID: {e}")))
            })
            .transpose()?;
        Ok(Self {
            gtin,
            lot,
            serial,
            expiry,
            req_gln,
            context,
            corr_uuid,
        })
    }

    /// A request from a scan (an element string or a GS1 Digital Link, as a 2D code holds it).
    ///
    /// # Errors
    /// The scan does not parse, or has no serial.
    pub fn from_scan(scan: &str) -> Result<Self, BadField> {
        let product = ScannedProduct::parse(scan).map_err(|e| bad("scan", e.to_string()))?;
        let serial = product
            .serial()
            .ok_or_else(|| bad("scan", "the scan has no serial number (AI 21)"))?;
        let exp = product.expiry().map(|e| e.to_string());
        Self::new(&RawRequest {
            gtin: product.gtin().as_str(),
            lot: product.lot(),
            serial,
            exp: exp.as_deref(),
            ..RawRequest::default()
        })
    }

    /// The GTIN.
    pub fn gtin(&self) -> &Gtin {
        &self.gtin
    }

    /// The serial number.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The requester GLN given.
    pub fn req_gln(&self) -> Option<&str> {
        self.req_gln.as_deref()
    }

    /// The ledger key of the package this request names: the canonical Digital Link of GTIN +
    /// serial, the form capture stores EPCs in.
    pub fn epc_key(&self) -> String {
        sgtin_key(&self.gtin, &self.serial)
    }
}

/// The ledger key of a GTIN + serial.
pub fn sgtin_key(gtin: &Gtin, serial: &str) -> String {
    crate::stored::epc_key(&format!(
        "https://id.gs1.org/01/{}/21/{}",
        gtin.as_str(),
        epcis::id::charset::dl_encode(serial)
    ))
}

/// A lot or serial: 1 to 20 characters of GS1 character set 82 (AI 10 and 21).
fn id_text<'a>(field: &'static str, value: &'a str) -> Result<&'a str, BadField> {
    if value.is_empty() || value.chars().count() > 20 {
        return Err(bad(field, format!("{value:?} must be 1 to 20 characters")));
    }
    epcis::id::charset::check_cset82(field, value).map_err(|e| bad(field, e.to_string()))?;
    Ok(value)
}

/// Who asked, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    /// Principal id, or `cli:<user>`.
    pub id: String,
    /// `rest`, `cli`, `mcp`.
    pub channel: &'static str,
}

/// Why a verification could not be answered at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// `[organisation] gln` is not set: there is no responder GLN to answer with.
    #[error(
        "this server has no responder GLN: set `gln` in the [organisation] section of the configuration"
    )]
    NotConfigured,
    /// The GTIN is not one this server answers for (404 in the VRS binding).
    #[error("GTIN {0} is not answered by this responder")]
    UnknownGtin(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Whether this server answers for `gtin`: its company prefix is one of the organisation's,
/// or, with no prefixes configured, a serial of it was commissioned here.
pub async fn answers_for(
    db: &Db,
    organisation: &OrganisationSettings,
    gtin: &Gtin,
) -> Result<bool, StorageError> {
    if organisation.company_prefixes.is_empty() {
        let mut conn = db.pool().acquire().await?;
        return store::gtin_known(&mut conn, gtin.as_str()).await;
    }
    Ok(owns_gtin(organisation, gtin))
}

fn owns_gtin(organisation: &OrganisationSettings, gtin: &Gtin) -> bool {
    // GTIN-14: indicator digit, then the company prefix.
    let digits = gtin.as_str().get(1..).unwrap_or_default();
    organisation
        .company_prefixes
        .iter()
        .any(|p| digits.starts_with(p.as_str()))
}

/// Answers a verification request from the ledger and logs it (with `investigation`, when
/// an investigation asked).
///
/// # Errors
/// [`VerifyError`]: not configured, a GTIN we do not answer for, storage.
pub async fn verify(
    db: &Db,
    organisation: &OrganisationSettings,
    requester: &Requester,
    request: &Request,
    investigation: Option<i64>,
) -> Result<Answer, VerifyError> {
    let reads = LedgerReads::direct(db.clone());
    let (answer, mut entry) = answer(&reads, organisation, requester, request).await?;
    entry.investigation = investigation;
    let mut conn = db.pool().acquire().await.map_err(StorageError::from)?;
    store::log(&mut conn, db.backend(), &entry.row()).await?;
    Ok(answer)
}

/// Answers a verification request from the ledger (read through `reads`: batched on the
/// partner listener, one statement for other callers) and returns the log entry to write with
/// it. The partner listener writes the entry in the transaction of the request's audit
/// record (`services::audit_writer`), so an answer is logged exactly when it is audited.
///
/// # Errors
/// [`VerifyError`]: not configured, a GTIN we do not answer for, storage.
pub async fn answer(
    reads: &LedgerReads,
    organisation: &OrganisationSettings,
    requester: &Requester,
    request: &Request,
) -> Result<(Answer, LogEntry), VerifyError> {
    let responder = organisation.gln.clone().ok_or(VerifyError::NotConfigured)?;
    if !organisation.company_prefixes.is_empty() && !owns_gtin(organisation, &request.gtin) {
        return Err(VerifyError::UnknownGtin(request.gtin.as_str().to_owned()));
    }
    let entry = reads.entry(request.epc_key()).await?;
    if entry.is_none() && !answers_for(reads.db(), organisation, &request.gtin).await? {
        return Err(VerifyError::UnknownGtin(request.gtin.as_str().to_owned()));
    }
    let now = time::OffsetDateTime::now_utc();
    let data = judge(request, entry.as_ref(), now.date());
    let answer = Answer {
        verification_timestamp: timestamp(now),
        responder_gln: responder,
        data,
        corr_uuid: request
            .corr_uuid
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
    };
    let log = LogEntry {
        corr_uuid: answer.corr_uuid.clone(),
        requested_at: crate::storage::now_text(),
        requester: requester.id.clone(),
        channel: requester.channel.to_owned(),
        req_gln: request.req_gln.clone(),
        context: request.context.clone(),
        gtin: request.gtin.as_str().to_owned(),
        lot: request.lot.clone(),
        serial: request.serial.clone(),
        expiry: request.expiry.map(|e| e.to_string()),
        verified: answer.data.verified,
        failure_reason: answer
            .data
            .verification_failure_reason
            .map(FailureReason::as_str),
        additional_info: answer.data.additional_info.map(AdditionalInfo::as_str),
        answer: serde_json::to_string(&answer).unwrap_or_default(),
        investigation: None,
    };
    Ok((answer, log))
}

/// `YYYY-MM-DDThh:mm:ss.sssZ`, the example's form.
fn timestamp(t: time::OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// The verdict for `request` given the ledger's entry for its GTIN + serial, on `today`.
pub fn judge(request: &Request, entry: Option<&LedgerEntry>, today: time::Date) -> AnswerData {
    let no = |reason| AnswerData {
        verified: false,
        verification_failure_reason: Some(reason),
        additional_info: None,
    };
    let Some(entry) = entry.filter(|e| e.commissioned && e.gtin == request.gtin.as_str()) else {
        return no(FailureReason::NoMatchGtinSerial);
    };
    let lot_ok = match (&request.lot, &entry.lot) {
        (None, _) => true,
        (Some(asked), Some(ours)) => asked == ours,
        (Some(_), None) => false,
    };
    let printed = entry.expiry.as_deref().and_then(ledger_expiry);
    let extended = entry.extended_expiry.as_deref().and_then(ledger_expiry);
    let expiry_ok = match request.expiry {
        None => true,
        Some(asked) => [printed, extended]
            .into_iter()
            .flatten()
            .any(|ours| asked.matches(&ours)),
    };
    match (lot_ok, expiry_ok) {
        (false, false) => return no(FailureReason::NoMatchGtinSerialLotExpiry),
        (false, true) => return no(FailureReason::NoMatchGtinSerialLot),
        (true, false) => return no(FailureReason::NoMatchGtinSerialExpiry),
        (true, true) => {}
    }
    if entry.illegitimate {
        return AnswerData {
            verified: false,
            verification_failure_reason: Some(FailureReason::NotForRedistribution),
            additional_info: Some(AdditionalInfo::Illegitimate),
        };
    }
    if matches!(entry.state.as_str(), "decommissioned" | "destroyed") {
        return no(FailureReason::NotForRedistribution);
    }
    let usable_until = extended.or(printed);
    let expired = usable_until.is_some_and(|e| last_date(e).is_some_and(|d| d < today));
    let additional_info = if entry.suspect {
        Some(AdditionalInfo::Suspect)
    } else if entry.recalled {
        Some(AdditionalInfo::Recalled)
    } else if expired {
        Some(AdditionalInfo::Expired)
    } else if extended.is_some() {
        Some(AdditionalInfo::ExpirationExtended)
    } else {
        None
    };
    AnswerData {
        verified: true,
        verification_failure_reason: None,
        additional_info,
    }
}

/// An expiry as the ledger keeps it (ILMD `itemExpirationDate`, `YYYY-MM-DD`, or `YYMMDD`).
fn ledger_expiry(text: &str) -> Option<Expiry> {
    let t = text.trim();
    if let Ok(e) = Expiry::parse_yymmdd(t) {
        return Some(e);
    }
    let mut parts = t.get(..10)?.split('-');
    let year = parts.next()?.parse().ok()?;
    let month = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    Expiry::new(year, month, (day != 0).then_some(day)).ok()
}

fn last_date(e: Expiry) -> Option<time::Date> {
    let month = time::Month::try_from(e.month()).ok()?;
    time::Date::from_calendar_date(i32::from(e.year()), month, e.last_day()).ok()
}

/// Records an FDA-extended expiry date for a lot.
///
/// # Errors
/// Storage.
pub async fn extend_expiry(
    db: &Db,
    actor: &super::Actor,
    gtin: &Gtin,
    lot: &str,
    to: Expiry,
    reference: &str,
) -> Result<(), StorageError> {
    let (who, _, _) = actor.audit_identity();
    let extended = last_date(to).map_or_else(|| to.to_string(), |d| d.to_string());
    let mut tx = db.begin_write().await?;
    store::extend_expiry(
        &mut tx,
        gtin.as_str(),
        lot,
        &extended,
        reference,
        &who,
        &crate::storage::now_text(),
    )
    .await?;
    super::audit_seam(
        &mut tx,
        actor,
        "lots extend-expiry",
        &format!("{} lot {lot}", gtin.as_str()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "verified: {}",
            if self.data.verified { "yes" } else { "no" }
        )?;
        if let Some(r) = self.data.verification_failure_reason {
            write!(f, " ({})", r.as_str())?;
        }
        if let Some(i) = self.data.additional_info {
            write!(f, ", additional info: {}", i.as_str())?;
        }
        write!(
            f,
            "\nresponder GLN: {}\ncorrUUID: {}\nat: {}",
            self.responder_gln, self.corr_uuid, self.verification_timestamp
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(lot: Option<&str>, exp: Option<&str>) -> Request {
        Request::new(&RawRequest {
            gtin: "00614141010011",
            lot,
            serial: "S1",
            exp,
            ..RawRequest::default()
        })
        .unwrap()
    }

    fn entry() -> LedgerEntry {
        LedgerEntry {
            gtin: "00614141010011".into(),
            lot: Some("L1".into()),
            expiry: Some("2028-06-30".into()),
            extended_expiry: None,
            commissioned: true,
            state: "active".into(),
            recalled: false,
            suspect: false,
            illegitimate: false,
        }
    }

    fn today() -> time::Date {
        time::Date::from_calendar_date(2026, time::Month::November, 22).unwrap()
    }

    #[test]
    fn gtin_and_serial_first() {
        let d = judge(&request(Some("X"), Some("990101")), None, today());
        assert_eq!(
            d.verification_failure_reason,
            Some(FailureReason::NoMatchGtinSerial)
        );
        let mut uncommissioned = entry();
        uncommissioned.commissioned = false;
        let d = judge(&request(None, None), Some(&uncommissioned), today());
        assert_eq!(
            d.verification_failure_reason,
            Some(FailureReason::NoMatchGtinSerial)
        );
    }

    #[test]
    fn lot_and_expiry_reasons() {
        let e = entry();
        let cases = [
            (
                Some("L2"),
                Some("280630"),
                Some(FailureReason::NoMatchGtinSerialLot),
            ),
            (Some("L1"), Some("280631"), None),
            (
                Some("L1"),
                Some("280701"),
                Some(FailureReason::NoMatchGtinSerialExpiry),
            ),
            (
                Some("L2"),
                Some("280701"),
                Some(FailureReason::NoMatchGtinSerialLotExpiry),
            ),
            (Some("L1"), Some("280600"), None),
            (Some("L1"), Some("280630"), None),
        ];
        for (lot, exp, reason) in cases {
            if exp == Some("280631") {
                // June has no 31st: the request itself is malformed.
                assert!(
                    Request::new(&RawRequest {
                        gtin: "00614141010011",
                        lot,
                        serial: "S1",
                        exp,
                        ..RawRequest::default()
                    })
                    .is_err()
                );
                continue;
            }
            let d = judge(&request(lot, exp), Some(&e), today());
            assert_eq!(d.verification_failure_reason, reason, "{lot:?} {exp:?}");
            assert_eq!(d.verified, reason.is_none());
        }
    }

    #[test]
    fn additional_info_from_the_ledger() {
        let mut e = entry();
        e.recalled = true;
        assert_eq!(
            judge(&request(None, None), Some(&e), today()).additional_info,
            Some(AdditionalInfo::Recalled)
        );
        e.suspect = true;
        assert_eq!(
            judge(&request(None, None), Some(&e), today()).additional_info,
            Some(AdditionalInfo::Suspect)
        );
        e.illegitimate = true;
        let d = judge(&request(None, None), Some(&e), today());
        assert_eq!(
            (d.verified, d.additional_info),
            (false, Some(AdditionalInfo::Illegitimate))
        );
        let mut old = entry();
        old.expiry = Some("2025-01-31".into());
        assert_eq!(
            judge(&request(None, None), Some(&old), today()).additional_info,
            Some(AdditionalInfo::Expired)
        );
        old.extended_expiry = Some("2027-01-31".into());
        let d = judge(&request(None, Some("270131")), Some(&old), today());
        assert_eq!(
            (d.verified, d.additional_info),
            (true, Some(AdditionalInfo::ExpirationExtended))
        );
        let d = judge(&request(None, Some("250131")), Some(&old), today());
        assert!(
            d.verified,
            "the printed date still matches after an extension"
        );
    }

    #[test]
    fn malformed_fields_are_named() {
        let err = |raw: RawRequest<'_>| Request::new(&raw).unwrap_err().field;
        let ok = RawRequest {
            gtin: "00614141010011",
            serial: "S1",
            ..RawRequest::default()
        };
        assert_eq!(
            err(RawRequest {
                gtin: "00614141010017",
                ..ok.clone()
            }),
            "gtin"
        );
        assert_eq!(
            err(RawRequest {
                serial: "a b",
                ..ok.clone()
            }),
            "ser"
        );
        assert_eq!(
            err(RawRequest {
                serial: "123456789012345678901",
                ..ok.clone()
            }),
            "ser"
        );
        assert_eq!(
            err(RawRequest {
                lot: Some(""),
                ..ok.clone()
            }),
            "lot"
        );
        assert_eq!(
            err(RawRequest {
                exp: Some("2806"),
                ..ok.clone()
            }),
            "exp"
        );
        assert_eq!(
            err(RawRequest {
                req_gln: Some("0614141000006"),
                ..ok.clone()
            }),
            "reqGLN"
        );
        assert_eq!(
            err(RawRequest {
                context: Some("x"),
                ..ok.clone()
            }),
            "context"
        );
        assert_eq!(
            err(RawRequest {
                corr_uuid: Some("nope"),
                ..ok
            }),
            "corrUUID"
        );
    }

    #[test]
    fn the_key_is_the_stored_sgtin_key() {
        let gtin = Gtin::parse("00614141010011").unwrap();
        assert_eq!(
            sgtin_key(&gtin, "A/B%1"),
            crate::stored::epc_key("urn:epc:id:sgtin:0614141.001001.A%2FB%251")
        );
    }

    #[test]
    fn scans_become_requests() {
        let r = Request::from_scan("(01)00614141010011(17)280600(10)L1(21)S1").unwrap();
        assert_eq!((r.serial(), r.lot.as_deref()), ("S1", Some("L1")));
        assert_eq!(r.expiry.map(|e| e.to_string()).as_deref(), Some("280600"));
        let r = Request::from_scan("https://id.gs1.org/01/00614141010011/10/L1/21/S%2F2?17=280630")
            .unwrap();
        assert_eq!(r.serial(), "S/2");
        assert!(Request::from_scan("(01)00614141010011(10)L1").is_err());
        // The examples `dscsa verify --help` gives.
        for example in [
            "(01)00614141100019(17)280630(10)LOT2605A(21)S1",
            "https://id.gs1.org/01/00614141100019/10/LOT2605A/21/S1?17=280630",
        ] {
            let r = Request::from_scan(example).unwrap();
            assert_eq!(
                (r.serial(), r.lot.as_deref()),
                ("S1", Some("LOT2605A")),
                "{example}"
            );
        }
    }
}
