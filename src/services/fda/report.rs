//! `report.html`: the package for people, printable (21 CFR 11.10(b) asks for records in
//! human-readable form beside the electronic one). Per product: what it is (the TI elements
//! (A)-(F)), where the records begin and end, the custody chain, a table of every transaction
//! with its transaction information and statement, the investigations that name it and the
//! verifications of its serials. Every value is escaped with the Form 3911 page's escaper:
//! names and addresses come from trading partners.
//!
//! A lot shipped case by case has thousands of transactions: the table shows each, but the
//! package identifiers of a transaction only as a count beyond `MAX_LISTED` (the CSV lists
//! them all).

use std::fmt::Write as _;

use super::package::{Contents, Meta, ProductRecords, address};
use super::request::Checked;
use crate::services::investigations::form3911::esc;
use crate::services::trace::Party;

/// Package identifiers listed per transaction in the report.
const MAX_LISTED: usize = 5;

const STYLE: &str = "body{font-family:sans-serif;font-size:11pt;margin:2em}\
h1{font-size:16pt}h2{font-size:13pt;border-bottom:1px solid #444;margin-top:2em}\
h3{font-size:11pt}table{border-collapse:collapse;width:100%;margin:.5em 0}\
td,th{border:1px solid #999;padding:2px 4px;vertical-align:top;font-size:9pt;text-align:left}\
th{background:#eee}.k{width:14em;font-weight:bold}code{font-size:8.5pt;word-break:break-all}\
@media print{h2{page-break-before:always}h2.first{page-break-before:avoid}}";

fn opt(v: Option<&String>) -> String {
    v.map_or_else(|| "—".to_owned(), |s| esc(s))
}

fn party(p: &Party) -> String {
    format!(
        "{}<br>{}<br>GLN {}",
        opt(p.name.as_ref()),
        esc(&address(p)),
        esc(p.gln.as_deref().unwrap_or(&p.id))
    )
}

/// The page.
pub(super) fn html(
    meta: &Meta,
    checked: &Checked,
    products: &[ProductRecords],
    contents: &Contents,
) -> String {
    let mut o = String::with_capacity(64 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>DSCSA records: {reference}</title><style>{STYLE}</style></head><body>\
         <h1>DSCSA transaction information and statements</h1>\
         <table><tr><td class=k>Request</td><td>{reference} (id <code>{id}</code>)</td></tr>\
         <tr><td class=k>Received / due</td><td>{received} / {deadline}</td></tr>\
         <tr><td class=k>Period</td><td>{from} to {to}</td></tr>\
         <tr><td class=k>Produced by</td><td>{org} (GLN {gln}), {actor} via {channel}, at {produced}</td></tr>\
         <tr><td class=k>Contents</td><td>{products} product(s), {packages} package(s), {transactions} \
         transaction(s), {events} event(s), {investigations} investigation(s), {verifications} \
         verification(s), {audit} audit record(s)</td></tr></table>\
         <p>The electronic records are in the same package: transaction-information.csv, \
         transaction-statements.json, events.xml (EPCIS 1.2), events.jsonld (EPCIS 2.0) and \
         audit.jsonl. manifest.json lists every file with its SHA-256 and is signed.</p>",
        reference = esc(&meta.job.request_ref),
        id = esc(&meta.job.id),
        received = esc(&meta.job.received_at),
        deadline = esc(&meta.job.deadline),
        from = opt(meta.from.as_ref()),
        to = opt(meta.to.as_ref()),
        org = opt(meta.organisation.name.as_ref()),
        gln = opt(meta.organisation.gln.as_ref()),
        actor = esc(&meta.actor),
        channel = esc(&meta.channel),
        produced = esc(&meta.produced_at),
        products = contents.products,
        packages = contents.packages,
        transactions = contents.transactions,
        events = contents.events,
        investigations = contents.investigations,
        verifications = contents.verifications,
        audit = contents.audit_records,
    );
    if checked.products.is_empty() {
        o.push_str("<p>No product.</p>");
    }
    for (n, p) in products.iter().enumerate() {
        product(&mut o, n, p);
    }
    o.push_str("</body></html>\n");
    o
}

fn product(o: &mut String, n: usize, p: &ProductRecords) {
    let info = &p.trace.product;
    let _ = write!(
        o,
        "<h2{first}>{n}. {asked}</h2><table>\
         <tr><td class=k>(A) Name</td><td>{name}</td></tr>\
         <tr><td class=k>(B) Strength, dosage form</td><td>{strength}, {form}</td></tr>\
         <tr><td class=k>(C) NDC</td><td>{ndc}</td></tr>\
         <tr><td class=k>(D) Container size</td><td>{size}</td></tr>\
         <tr><td class=k>(F) Lot, expiry</td><td>{lot}, {expiry}</td></tr>\
         <tr><td class=k>GTIN</td><td>{gtin}</td></tr>\
         <tr><td class=k>Manufacturer</td><td>{manufacturer}</td></tr>\
         <tr><td class=k>Packages in our records</td><td>{packages}</td></tr>\
         <tr><td class=k>Records begin with</td><td>{up}</td></tr>\
         <tr><td class=k>Records end with</td><td>{down}</td></tr></table>",
        first = if n == 0 { " class=first" } else { "" },
        n = n + 1,
        asked = esc(&p.resolved.asked),
        name = opt(info.name.as_ref()),
        strength = opt(info.strength.as_ref()),
        form = opt(info.dosage_form.as_ref()),
        ndc = opt(info.ndc.as_ref()),
        size = opt(info.container_size.as_ref()),
        lot = opt(info.lot.as_ref()),
        expiry = opt(info.expiry.as_ref()),
        gtin = esc(&info.gtin),
        manufacturer = opt(info.manufacturer.as_ref()),
        packages = info.packages,
        up = boundary(&p.trace.upstream),
        down = boundary(&p.trace.downstream),
    );
    // The custody chain: owners in order.
    let hops = p.hops();
    o.push_str("<h3>Custody chain</h3><p>");
    if let Some(first) = hops.first() {
        o.push_str(&opt(first.transferor.name.as_ref()));
        let mut last = first.transferor.id.as_str();
        for h in hops {
            if h.transferee.id != last {
                let _ = write!(o, " → {}", opt(h.transferee.name.as_ref()));
                last = &h.transferee.id;
            }
        }
    } else {
        o.push_str("No change of ownership in our records for this period.");
    }
    o.push_str("</p>");
    if !hops.is_empty() {
        o.push_str(
            "<h3>Transactions</h3><table><tr><th>#</th><th>(G) Transaction / (H) shipment date</th>\
             <th>(I) From</th><th>(J) To</th><th>(E) Containers</th><th>Business transactions</th>\
             <th>Transaction statement</th><th>Packages</th><th>Event</th></tr>",
        );
        for (i, (h, packages)) in hops.iter().zip(&p.hop_packages).enumerate() {
            let txs: Vec<String> = h
                .business_transactions
                .iter()
                .map(|t| {
                    format!(
                        "{}: {}",
                        esc(t.kind.rsplit(':').next().unwrap_or(&t.kind)),
                        esc(&t.id)
                    )
                })
                .collect();
            let statement = h.transaction_statement.as_ref().map_or_else(
                || "none recorded".to_owned(),
                |s| {
                    format!(
                        "affirmed: {}{}",
                        opt(s.affirm.as_ref()),
                        s.legal_notice
                            .as_ref()
                            .map(|n| format!("<br>{}", esc(n)))
                            .unwrap_or_default()
                    )
                },
            );
            let listed: Vec<String> = packages
                .iter()
                .take(MAX_LISTED)
                .map(|k| format!("<code>{}</code>", esc(k)))
                .collect();
            let more = packages.len().saturating_sub(MAX_LISTED);
            let _ = write!(
                o,
                "<tr><td>{n}</td><td>{date}{ship}{receipt}</td><td>{from}</td><td>{to}</td>\
                 <td>{count}{via}</td><td>{txs}</td><td>{statement}</td><td>{listed}{more}</td>\
                 <td><code>{event}</code></td></tr>",
                n = i + 1,
                date = esc(&h.transaction_date),
                ship = if h.shipment_date == h.transaction_date {
                    String::new()
                } else {
                    format!("<br>shipped {}", esc(&h.shipment_date))
                },
                receipt = h
                    .receipt_date
                    .as_ref()
                    .map(|r| format!("<br>received {}", esc(r)))
                    .unwrap_or_default(),
                from = party(&h.transferor),
                to = party(&h.transferee),
                count = h.number_of_containers,
                via = if h.via_containers.is_empty() {
                    String::new()
                } else {
                    format!(
                        "<br>in {}",
                        h.via_containers
                            .iter()
                            .map(|c| format!("<code>{}</code>", esc(c)))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                },
                txs = txs.join("<br>"),
                listed = listed.join("<br>"),
                more = if more > 0 {
                    format!("<br>and {more} more (see the CSV)")
                } else {
                    String::new()
                },
                event = esc(&h.event_hash_id),
            );
        }
        o.push_str("</table>");
    }
    o.push_str("<h3>Investigations</h3>");
    if p.investigations.is_empty() {
        o.push_str("<p>None names this product.</p>");
    } else {
        o.push_str(
            "<table><tr><th>Case</th><th>Reason</th><th>Status</th><th>Determination</th>\
             <th>FDA</th><th>Opened</th><th>Description</th></tr>",
        );
        for c in &p.investigations {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{} by {}</td><td>{}</td></tr>",
                esc(&c.reference),
                esc(&c.reason),
                esc(&c.status),
                opt(c.determination.as_ref()),
                esc(&c.fda.summary),
                c.fda_incident_number
                    .as_ref()
                    .map(|n| format!("<br>incident {}", esc(n)))
                    .unwrap_or_default(),
                esc(&c.opened_at),
                esc(&c.opened_by),
                esc(&c.description),
            );
        }
        o.push_str("</table>");
    }
    o.push_str("<h3>Verifications</h3>");
    if p.verifications.is_empty() {
        o.push_str("<p>No verification of these serials is logged.</p>");
    } else {
        o.push_str(
            "<table><tr><th>When</th><th>Requester</th><th>Serial</th><th>Lot asked</th>\
             <th>Verified</th><th>Correlation id</th></tr>",
        );
        for v in &p.verifications {
            let data = &v.answer["data"];
            let verified = match (
                data["verified"].as_bool(),
                data["verificationFailureReason"].as_str(),
            ) {
                (Some(true), _) => "yes".to_owned(),
                (Some(false), Some(why)) => format!("no ({why})"),
                (Some(false), None) => "no".to_owned(),
                (None, _) => "unknown".to_owned(),
            };
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                esc(&v.requested_at),
                esc(&v.requester),
                esc(&v.serial),
                opt(v.lot.as_ref()),
                esc(&verified),
                esc(&v.corr_uuid),
            );
        }
        o.push_str("</table>");
    }
}

fn boundary(b: &crate::services::trace::Boundary) -> String {
    match &b.ask_next {
        Some(p) => format!(
            "{} (ask {})",
            esc(&b.ends_with),
            party(p).replace("<br>", ", ")
        ),
        None => esc(&b.ends_with),
    }
}
