//! `dscsa serve`, `dscsa migrate`, `dscsa check-config`.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use super::ConfigArgs;
use crate::Application;
use crate::storage::Db;

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// Register the demo principals (a manufacturer, two wholesalers, three pharmacies, a
    /// regulator, a compliance officer), write their client certificates under
    /// <data_dir>/pki/clients/, and print how to call the server with curl.
    #[arg(long)]
    demo: bool,
}

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.config.load()?;
    let app = Application::build(&config)
        .await
        .context("starting the server")?;
    if args.demo {
        crate::demo::setup(app.db(), config.dev_pki.as_ref())
            .await
            .context("setting up the demo principals")?;
        if let Some(layout) = &config.dev_pki {
            println!(
                "{}",
                crate::demo::instructions(layout, app.partner_addr(), app.ops_addr())
            );
        }
    } else if let Some(layout) = &config.dev_pki {
        println!(
            "dscsa-exchange is running: partner API https://localhost:{} (mutual TLS, CA {}), ops http://{}/healthz",
            app.partner_addr().port(),
            layout.ca_cert().display(),
            app.ops_addr()
        );
        println!(
            "No principals are created without --demo: add one with `dscsa partners add`, or run `dscsa serve --demo`."
        );
    }
    app.run_until_signalled().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn migrate(args: ConfigArgs) -> anyhow::Result<ExitCode> {
    let config = args.load()?;
    let db = Db::connect(&config.database_url, 1)
        .await
        .with_context(|| format!("connecting to {}", config.database_url))?;
    let applied = db.migrate().await.context("applying migrations")?;
    println!(
        "{}: {applied} migration(s) applied; the schema is current",
        config.database_url
    );
    db.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn check_config(args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let config = args.load()?;
    print!("{}", config.to_toml());
    Ok(ExitCode::SUCCESS)
}
