//! Form FDA 3911 data for a case (`../shared/reference/dscsa.md` §3.3), prefilled from the
//! case, the serial ledger (lot, expiry), header master data (`master_products`: name, dosage
//! form, strength, NDC by GTIN) and the home organisation (`[organisation]`), plus the
//! immediate trading partners to notify, as JSON and as a printable HTML page. The partners
//! come from the custody hops [`trace::trace`] finds: this module reads them, it does not walk
//! the containers or the events itself.
//!
//! The HTML page escapes every value ([`esc`]): names, notes and master data come from partners
//! and staff and are hostile until proven otherwise. It loads nothing (no scripts, fonts,
//! images or style sheets from elsewhere) and says so in its own Content-Security-Policy.
//!
//! The form is filed by a person through CDER NextGen or by e-mail; this data is what they
//! copy, not a submission. Fields the store cannot know (primary ingredients) are left empty
//! and listed in `missing`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use epcis::id::Gtin;

use super::step::load;
use super::{Classification, Determination, FdaClock, InvestigationError, Status};
use crate::config::OrganisationSettings;
use crate::services::trace;
use crate::storage::investigations::{self as store, ItemRow};
use crate::storage::{Db, masterdata, now_text};

/// One product (GTIN) of the form: items 6–16.
#[derive(Debug, Clone, Serialize)]
pub struct Product {
    /// GTIN-14.
    pub gtin: String,
    /// Item 6: name of the product as on the label.
    pub name: Option<String>,
    /// Item 7: primary ingredient(s) — not in EPCIS master data; filled in by hand.
    pub primary_ingredients: Option<String>,
    /// Item 8: drug use (`Human`: DSCSA covers human prescription drugs).
    pub drug_use: &'static str,
    /// Item 9: drug description (the dosage form type as sent in master data).
    pub drug_description: Option<String>,
    /// Item 10: strength.
    pub strength: Option<String>,
    /// Item 11: dosage form.
    pub dosage_form: Option<String>,
    /// Item 12: quantity.
    pub quantity: Quantity,
    /// Item 13: NDC (master data, else derived from the GTIN).
    pub ndc: Option<String>,
    /// Item 14: serial numbers.
    pub serial_numbers: Vec<String>,
    /// Item 15: lot numbers.
    pub lot_numbers: Vec<String>,
    /// Item 16: expiration dates.
    pub expiration_dates: Vec<String>,
}

/// Item 12.
#[derive(Debug, Clone, Serialize)]
pub struct Quantity {
    /// How many.
    pub number: u64,
    /// Of what (packages; the package content from master data when known).
    pub unit: String,
}

/// Items 20–23: who files.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Company {
    /// Company name.
    pub name: Option<String>,
    /// GLN.
    pub gln: Option<String>,
    /// Street.
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Contact (receives FDA's acknowledgement with the incident number).
    pub contact_name: Option<String>,
    /// Contact e-mail.
    pub contact_email: Option<String>,
    /// Contact telephone.
    pub contact_phone: Option<String>,
}

/// An immediate trading partner to notify (DSCSA: "all appropriate immediate trading partners").
#[derive(Debug, Clone, Serialize)]
pub struct Partner {
    /// GLN of the owning party.
    pub gln: String,
    /// Name from location master data or the partner record.
    pub name: Option<String>,
    /// The registered principal holding the GLN, if any.
    pub principal: Option<String>,
    /// Address from location master data (street, city, state, postal code, country).
    pub address: Option<String>,
    /// `supplied_us`, `received_from_us` (or `party_to_a_transfer` when the home organisation
    /// has no GLN configured to tell the directions apart).
    pub relations: Vec<&'static str>,
}

/// The form's data.
#[derive(Debug, Clone, Serialize)]
pub struct Form3911 {
    /// Case reference.
    pub investigation: String,
    /// Case id.
    pub investigation_id: i64,
    /// Case status.
    pub status: String,
    /// Determination.
    pub determination: Option<String>,
    /// When this data was assembled.
    pub generated_at: String,
    /// Item 1: `Initial`, `Follow-Up` or `Request for Termination`.
    pub type_of_report: &'static str,
    /// Item 2: FDA incident number (blank on an initial report).
    pub incident_number: Option<String>,
    /// Item 3: date of initial notification.
    pub date_of_initial_notification: Option<String>,
    /// Item 4: date the company determined the product illegitimate.
    pub date_determined_illegitimate: Option<String>,
    /// Item 5: classification of notification.
    pub classification: Option<String>,
    /// Items 6–16, one per GTIN.
    pub products: Vec<Product>,
    /// Item 17: description of event/issue.
    pub description: String,
    /// Item 18: reason notification is no longer necessary.
    pub termination_reason: Option<String>,
    /// Item 19: other mechanisms used to notify FDA.
    pub other_mechanisms: &'static str,
    /// Items 20–23.
    pub company: Company,
    /// The 24-hour FDA notification clock.
    pub fda: FdaClock,
    /// Immediate trading partners to notify.
    pub trading_partners: Vec<Partner>,
    /// Fields the store could not prefill.
    pub missing: Vec<String>,
}

fn classification_label(word: &str) -> String {
    match Classification::parse(word) {
        Some(Classification::Counterfeit) => "Counterfeit".into(),
        Some(Classification::Diverted) => "Diverted".into(),
        Some(Classification::FraudulentTransaction) => "Fraudulent transaction".into(),
        Some(Classification::IntentionalAdulteration) => "Intentional adulteration".into(),
        Some(Classification::Stolen) => "Stolen".into(),
        Some(Classification::UnfitForDistribution) => "Unfit for distribution".into(),
        None => word.to_owned(),
    }
}

fn date(t: Option<&String>) -> Option<String> {
    t.map(|t| t.get(..10).unwrap_or(t).to_owned())
}

/// The serial number in a ledger key (a Digital Link with AI 21), or the key.
fn serial_of(key: &str) -> String {
    epcis::id::DigitalLink::parse(key)
        .ok()
        .and_then(|dl| dl.serial().map(str::to_owned))
        .unwrap_or_else(|| key.to_owned())
}

/// The NDC as the master data wrote it (hyphenated as on the label; the `ndc` column keeps
/// digits only, for matching).
fn label_ndc(attributes: &str) -> Option<String> {
    let list: Vec<serde_json::Value> = serde_json::from_str(attributes).ok()?;
    list.iter()
        .find(|a| {
            a["id"]
                .as_str()
                .is_some_and(|id| id.ends_with("additionalTradeItemIdentification"))
        })
        .and_then(|a| a["value"].as_str())
        .map(str::to_owned)
}

fn is_home(org: &OrganisationSettings, gln: &str) -> bool {
    org.gln.as_deref() == Some(gln)
        || org
            .company_prefixes
            .iter()
            .any(|p| gln.starts_with(p.as_str()))
}

/// Assembles the form's data for case `key` (id or reference).
pub async fn build(
    db: &Db,
    org: &OrganisationSettings,
    key: &str,
) -> Result<Form3911, InvestigationError> {
    let mut conn = db.pool().acquire().await?;
    let c = load(&mut conn, key).await?;
    let items = store::items(&mut conn, c.id).await?;
    let serials = store::serials(&mut conn, c.id, super::MAX_SERIALS).await?;
    let timeline = store::timeline(&mut conn, c.id).await?;
    let mut missing = Vec::new();

    // Items 6–16, by GTIN: the ledger rows, plus serial items the ledger has never seen (a
    // counterfeit serial often was never commissioned).
    #[derive(Default)]
    struct Group {
        serials: BTreeSet<String>,
        lots: BTreeSet<String>,
        expiries: BTreeSet<String>,
    }
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut known = BTreeSet::new();
    for s in &serials {
        known.insert(s.epc.clone());
        let Some(gtin) = &s.gtin else { continue };
        let g = groups.entry(gtin.clone()).or_default();
        g.serials.insert(serial_of(&s.epc));
        g.lots.extend(s.lot.clone());
        g.expiries.extend(s.expiry.clone());
    }
    for i in &items {
        let g = groups.entry(i.gtin.clone()).or_default();
        if let (Some(epc), Some(serial)) = (&i.epc, &i.serial)
            && !known.contains(epc)
        {
            g.serials.insert(serial.clone());
        }
        g.lots.extend(i.lot.clone());
    }
    let mut products = Vec::with_capacity(groups.len());
    for (gtin, g) in groups {
        let master = masterdata::product(&mut conn, Some(&gtin), None).await?;
        let derived_ndc = Gtin::parse(&gtin)
            .ok()
            .and_then(|g| epcis::id::Ndc::from_gtin(&g))
            .map(|n| n.as_str().to_owned());
        let m = master.as_ref();
        if m.and_then(|m| m.name.as_ref()).is_none() {
            missing.push(format!(
                "item 6 (product name) for GTIN {gtin}: no master data"
            ));
        }
        missing.push(format!(
            "item 7 (primary ingredients) for GTIN {gtin}: not in EPCIS master data"
        ));
        let unit = m
            .and_then(|m| m.net_content.clone())
            .map_or_else(|| "packages".to_owned(), |c| format!("packages of {c}"));
        products.push(Product {
            name: m.and_then(|m| m.name.clone()),
            primary_ingredients: None,
            drug_use: "Human",
            drug_description: m.and_then(|m| m.dosage_form.clone()),
            strength: m.and_then(|m| m.strength.clone()),
            dosage_form: m.and_then(|m| m.dosage_form.clone()),
            quantity: Quantity {
                number: g.serials.len() as u64,
                unit,
            },
            ndc: m
                .and_then(|m| label_ndc(&m.attributes).or_else(|| m.ndc.clone()))
                .or(derived_ndc),
            serial_numbers: g.serials.into_iter().collect(),
            lot_numbers: g.lots.into_iter().collect(),
            expiration_dates: g.expiries.into_iter().collect(),
            gtin,
        });
    }

    // Item 17: the case's description, then what the timeline adds (notes, quarantine,
    // determinations, verification results).
    let mut description = c.description.clone();
    let mut classification = None;
    for e in &timeline {
        let d: serde_json::Value = serde_json::from_str(&e.details).unwrap_or_default();
        let line = match e.action.as_str() {
            "note" => d["text"].as_str().map(|t| format!("Note: {t}")),
            "quarantine" => Some(format!(
                "Quarantined ({} units; EPCIS event {}).",
                d["epcs"],
                e.event_hash.as_deref().unwrap_or("?")
            )),
            "determine" => {
                if let Some(cl) = d["classification"].as_str() {
                    classification = Some(classification_label(cl));
                }
                Some(format!(
                    "Determined {}{}",
                    d["determination"].as_str().unwrap_or("?"),
                    d["note"]
                        .as_str()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_else(|| ".".into())
                ))
            }
            "verification" => d["summary"].as_str().map(|s| format!("Verification: {s}")),
            _ => None,
        };
        if let Some(line) = line {
            let _ = write!(
                description,
                "\n[{}] {line}",
                date(Some(&e.at)).unwrap_or_default()
            );
        }
    }
    if classification.is_none() && c.determination.as_deref() == Some("illegitimate") {
        missing
            .push("item 5 (classification): give one with the illegitimate determination".into());
    }

    let status = Status::parse(&c.status);
    let type_of_report = match status {
        Some(Status::TerminationRequested | Status::Terminated) => "Request for Termination",
        _ if c.fda_incident_number.is_some() => "Follow-Up",
        _ => "Initial",
    };
    if c.determination.as_deref().and_then(Determination::parse)
        != Some(Determination::Illegitimate)
    {
        missing.push(
            "the product is not determined illegitimate: FDA is notified of illegitimate product"
                .into(),
        );
    }
    let company = Company {
        name: org.name.clone(),
        gln: org.gln.clone(),
        street: org.street.clone(),
        city: org.city.clone(),
        state: org.state.clone(),
        postal_code: org.postal_code.clone(),
        country: org.country.clone(),
        contact_name: org.contact_name.clone(),
        contact_email: org.contact_email.clone(),
        contact_phone: org.contact_phone.clone(),
    };
    for (field, value) in [
        ("organisation.name", &company.name),
        ("organisation.street", &company.street),
        ("organisation.contact_name", &company.contact_name),
    ] {
        if value.is_none() {
            missing.push(format!("items 20-23: {field} is not configured"));
        }
    }
    // The traces take connections of their own.
    drop(conn);
    let trading_partners = partners(db, org, &items, &mut missing).await?;
    Ok(Form3911 {
        investigation: c.reference.clone(),
        investigation_id: c.id,
        status: c.status.clone(),
        determination: c.determination.clone(),
        generated_at: now_text(),
        type_of_report,
        incident_number: c.fda_incident_number.clone(),
        date_of_initial_notification: date(c.fda_notified_at.as_ref()),
        date_determined_illegitimate: date(c.illegitimate_at.as_ref()),
        classification,
        products,
        description,
        termination_reason: c.termination_reason.clone(),
        other_mechanisms: "None",
        company,
        fda: FdaClock::of(&c, time::OffsetDateTime::now_utc()),
        trading_partners,
        missing,
    })
}

/// Most products (serials and lots) traced for the trading partners of one form. WHY a cap: a
/// case may name up to [`MAX_ITEMS`](super::MAX_ITEMS) products, and each trace walks the
/// product's containers level by level and reads every custody event it finds (a few queries
/// per event), so a thousand serial traces would keep the form waiting for many seconds. A lot
/// is traced once as a lot ([`trace::Product::Lot`]), not serial by serial, so even a large lot
/// costs one walk. Products past the cap are named in `missing`.
const MAX_TRACES: usize = 100;

/// The immediate trading partners, from the custody hops [`trace::trace`] finds for each
/// serial and lot the case names (through every level of containers, with the aggregation
/// intervals): the transferors of hops into the home organisation (`supplied_us`) and the
/// transferees of hops out of it (`received_from_us`). The home organisation is
/// `organisation.gln`, and the GLNs under its company prefixes, so that a transfer between two
/// of our own sites names no partner. With neither configured the directions cannot be told
/// apart, and every party to a transfer is listed as `party_to_a_transfer`, as before.
async fn partners(
    db: &Db,
    org: &OrganisationSettings,
    items: &[ItemRow],
    missing: &mut Vec<String>,
) -> Result<Vec<Partner>, InvestigationError> {
    let products: Vec<trace::Product> = items
        .iter()
        .filter_map(|i| {
            let gtin = Gtin::parse(&i.gtin).ok()?;
            match (&i.serial, &i.lot) {
                (Some(serial), _) => Some(trace::Product::Serial {
                    gtin,
                    serial: serial.clone(),
                }),
                (None, Some(lot)) => Some(trace::Product::Lot {
                    gtin,
                    lot: lot.clone(),
                }),
                (None, None) => None,
            }
        })
        .collect();
    if products.len() > MAX_TRACES {
        missing.push(format!(
            "trading partners: traced the first {MAX_TRACES} of the {} products the case names; \
             trace the others (dscsa trace) for their partners",
            products.len()
        ));
    }
    let knows_home = org.gln.is_some() || !org.company_prefixes.is_empty();
    let home = |p: &trace::Party| p.gln.as_deref().is_some_and(|g| is_home(org, g));
    let mut found: BTreeMap<String, (trace::Party, BTreeSet<&'static str>)> = BTreeMap::new();
    let mut note = |party: &trace::Party, relation: &'static str| {
        if let Some(gln) = &party.gln {
            found
                .entry(gln.clone())
                .or_insert_with(|| (party.clone(), BTreeSet::new()))
                .1
                .insert(relation);
        }
    };
    for product in products.iter().take(MAX_TRACES) {
        let t = trace::trace(
            db,
            org,
            &trace::Scope::Everything,
            product,
            trace::ResponseType::TransactionInformation,
        )
        .await?;
        for hop in t.hops.iter().flatten() {
            let (from, to) = (&hop.transferor, &hop.transferee);
            if !knows_home {
                note(from, "party_to_a_transfer");
                note(to, "party_to_a_transfer");
            } else if home(from) && !home(to) {
                note(to, "received_from_us");
            } else if home(to) && !home(from) {
                note(from, "supplied_us");
            }
        }
    }
    let mut conn = db.pool().acquire().await?;
    let mut out = Vec::with_capacity(found.len());
    for (gln, (party, relations)) in found {
        let principal = store::partner_of_gln(&mut conn, &gln).await?;
        let address = joined(
            [
                &party.street_address,
                &party.city,
                &party.state,
                &party.postal_code,
                &party.country_code,
            ],
            ", ",
        );
        out.push(Partner {
            name: principal.as_ref().map(|(_, n)| n.clone()).or(party.name),
            principal: principal.map(|(p, _)| p),
            address,
            relations: relations.into_iter().collect(),
            gln,
        });
    }
    Ok(out)
}

/// The parts that are known, joined with `separator`; none when none is known.
fn joined<'a>(
    parts: impl IntoIterator<Item = &'a Option<String>>,
    separator: &str,
) -> Option<String> {
    let known: Vec<&str> = parts.into_iter().flatten().map(String::as_str).collect();
    (!known.is_empty()).then(|| known.join(separator))
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn opt(v: Option<&String>) -> String {
    v.map_or_else(|| "<span class=\"blank\">—</span>".to_owned(), |s| esc(s))
}

fn list(values: &[String]) -> String {
    if values.is_empty() {
        return opt(None);
    }
    values
        .iter()
        .map(|v| esc(v))
        .collect::<Vec<_>>()
        .join("<br>")
}

/// The form's data as a printable, self-contained HTML page.
pub fn html(f: &Form3911) -> String {
    let mut h = String::with_capacity(8192);
    let row = |h: &mut String, item: &str, label: &str, value: String| {
        let _ = write!(
            h,
            "<tr><th>{item}</th><td>{label}</td><td>{value}</td></tr>"
        );
    };
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>Form FDA 3911 data: {}</title><style>\
         body{{font-family:sans-serif;margin:2em;max-width:60em}}\
         table{{border-collapse:collapse;width:100%;margin-bottom:1.5em}}\
         th,td{{border:1px solid #888;padding:.3em .5em;text-align:left;vertical-align:top}}\
         th{{width:3em}} .blank{{color:#888}} .clock{{font-weight:bold}}\
         pre{{white-space:pre-wrap;margin:0;font-family:inherit}}\
         @media print{{.noprint{{display:none}}}}</style></head><body>",
        esc(&f.investigation)
    );
    let _ = write!(
        h,
        "<h1>Form FDA 3911 data — {}</h1><p>Status: {} ({}). Generated {}. \
         Copy into the 3911 in CDER NextGen or the e-mailed form; this page is not a submission.</p>\
         <p class=\"clock\">{}</p>",
        esc(&f.investigation),
        esc(&f.status),
        opt(f.determination.as_ref()),
        esc(&f.generated_at),
        esc(&f.fda.summary)
    );
    h.push_str("<h2>Report</h2><table>");
    row(&mut h, "1", "Type of report", esc(f.type_of_report));
    row(
        &mut h,
        "2",
        "Incident number",
        opt(f.incident_number.as_ref()),
    );
    row(
        &mut h,
        "3",
        "Date of initial notification",
        opt(f.date_of_initial_notification.as_ref()),
    );
    row(
        &mut h,
        "4",
        "Date determined illegitimate",
        opt(f.date_determined_illegitimate.as_ref()),
    );
    row(
        &mut h,
        "5",
        "Classification of notification",
        opt(f.classification.as_ref()),
    );
    h.push_str("</table>");
    for p in &f.products {
        let _ = write!(h, "<h2>Product GTIN {}</h2><table>", esc(&p.gtin));
        row(&mut h, "6", "Name of product", opt(p.name.as_ref()));
        row(
            &mut h,
            "7",
            "Primary ingredient(s)",
            opt(p.primary_ingredients.as_ref()),
        );
        row(&mut h, "8", "Drug use", esc(p.drug_use));
        row(
            &mut h,
            "9",
            "Drug description",
            opt(p.drug_description.as_ref()),
        );
        row(&mut h, "10", "Strength", opt(p.strength.as_ref()));
        row(&mut h, "11", "Dosage form", opt(p.dosage_form.as_ref()));
        row(
            &mut h,
            "12",
            "Quantity",
            format!("{} {}", p.quantity.number, esc(&p.quantity.unit)),
        );
        row(&mut h, "13", "NDC", opt(p.ndc.as_ref()));
        row(&mut h, "14", "Serial number(s)", list(&p.serial_numbers));
        row(&mut h, "15", "Lot number(s)", list(&p.lot_numbers));
        row(
            &mut h,
            "16",
            "Expiration date(s)",
            list(&p.expiration_dates),
        );
        h.push_str("</table>");
    }
    h.push_str("<h2>Event</h2><table>");
    row(
        &mut h,
        "17",
        "Description of event/issue",
        format!("<pre>{}</pre>", esc(&f.description)),
    );
    row(
        &mut h,
        "18",
        "Reason notification no longer necessary",
        opt(f.termination_reason.as_ref()),
    );
    row(
        &mut h,
        "19",
        "Other mechanisms used",
        esc(f.other_mechanisms),
    );
    h.push_str("</table><h2>Company</h2><table>");
    let c = &f.company;
    row(&mut h, "20", "Company name", opt(c.name.as_ref()));
    row(&mut h, "", "GLN", opt(c.gln.as_ref()));
    let address = joined(
        [&c.street, &c.city, &c.state, &c.postal_code, &c.country],
        ", ",
    );
    row(&mut h, "21", "Address", opt(address.as_ref()));
    let contact = joined([&c.contact_name, &c.contact_email, &c.contact_phone], " · ");
    row(&mut h, "23", "Contact", opt(contact.as_ref()));
    h.push_str("</table><h2>Immediate trading partners to notify</h2>");
    if f.trading_partners.is_empty() {
        h.push_str("<p>None found in the events of this product.</p>");
    } else {
        h.push_str("<table><tr><th>GLN</th><th>Name</th><th>Address</th><th>Relation</th></tr>");
        for p in &f.trading_partners {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td></tr>",
                esc(&p.gln),
                opt(p.name.as_ref()),
                p.principal
                    .as_ref()
                    .map(|id| format!(" ({})", esc(id)))
                    .unwrap_or_default(),
                opt(p.address.as_ref()),
                esc(&p.relations.join(", "))
            );
        }
        h.push_str("</table>");
    }
    if !f.missing.is_empty() {
        h.push_str("<h2>To complete by hand</h2><ul>");
        for m in &f.missing {
            let _ = write!(h, "<li>{}</li>", esc(m));
        }
        h.push_str("</ul>");
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escaping_neutralises_markup() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
