//! `dscsa pki dev`: write a development PKI (CA, localhost server certificate, empty CRL, and
//! client certificates for the principals named).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use partners::PrincipalId;
use partners::devpki::{self, DevPkiLayout};

#[derive(Debug, Subcommand)]
pub(crate) enum PkiCommand {
    /// Write a development PKI into DIR: ca.pem/ca.key, server.pem/server.key (localhost,
    /// 127.0.0.1, ::1), crl.pem, and clients/<ID>.pem/.key for each --client. An existing CA in
    /// DIR is reused. Not for production: bring your own CA there.
    Dev {
        /// Output directory.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Issue a client certificate with this principal id as common name; repeat for several.
        #[arg(long = "client", value_name = "ID")]
        clients: Vec<PrincipalId>,
        /// Validity of client certificates, in days.
        #[arg(long, default_value_t = 365)]
        days: i64,
    },
}

pub(crate) fn run(cmd: PkiCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PkiCommand::Dev { out, clients, days } => {
            let layout = DevPkiLayout::new(&out);
            let (ca, outcome) = devpki::ensure(&layout)?;
            println!("{}: development PKI {outcome:?}", out.display());
            println!("  CA        {}", layout.ca_cert().display());
            println!("  server    {} (+ .key)", layout.server_cert().display());
            println!("  CRL       {}", layout.crl().display());
            for id in &clients {
                let cert = ca.issue_client(id, days)?;
                cert.write(&layout.client_cert(id), &layout.client_key(id))?;
                let fingerprint = partners::Fingerprint::of_der(cert.cert_der());
                println!(
                    "  client    {} (sha256 {fingerprint})",
                    layout.client_cert(id).display()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
