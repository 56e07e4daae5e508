//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds the
//! files of `migrations/` at compile time, and without this cargo does not know they are
//! inputs, so a build after adding a migration could silently ship without it.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
