//! The schema migrations, embedded in the binary and run at start-up.
//!
//! Both backends' files in `migrations/<backend>/` (one name each, in both) are listed here,
//! in order, with the version, description and checksum `sqlx::migrate!` would give them (so
//! databases migrated by earlier builds stay valid). They are listed by hand rather than by that macro because
//! the macro compiles a second copy of both database drivers for the compiler; a test checks
//! that the lists and the directories agree. A new migration is a file in each
//! directory and one new line.

use std::borrow::Cow;

use futures_util::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// One migration file: its name (`NNNN_description.sql`) and its text.
type File = (&'static str, &'static str);

/// Both backends' lists from the one list of file names (each backend has a file of every
/// name, in its own dialect).
macro_rules! migrations {
    ($($name:literal),* $(,)?) => {
        /// SQLite's migrations.
        pub const SQLITE: &[File] =
            &[$(($name, include_str!(concat!("../../migrations/sqlite/", $name)))),*];
        /// Postgres' migrations.
        pub const POSTGRES: &[File] =
            &[$(($name, include_str!(concat!("../../migrations/postgres/", $name)))),*];
    };
}

migrations!(
    "0001_init.sql",
    "0002_multipart.sql",
    "0004_group_count.sql",
    "0005_blob_index.sql",
    "0006_webhooks.sql",
    "0007_tags.sql",
    "0008_addons.sql",
    "0009_conversions.sql",
    "0010_shared.sql",
    "0011_group_version.sql",
    "0013_search_index.sql",
    "0014_delivery_lease_owner.sql",
);

/// A backend's embedded migrations as a source for sqlx's migrator.
#[derive(Debug)]
struct Embedded(&'static [File]);

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            self.0
                .iter()
                .map(|&(name, sql)| migration(name, sql))
                .collect()
        })
    }
}

/// A file as `sqlx::migrate!` reads it: `<version>_<description with _ for spaces>.sql`,
/// run in a transaction unless its first line is `-- no-transaction`.
fn migration(name: &str, sql: &'static str) -> Result<Migration, BoxDynError> {
    let stem = name
        .strip_suffix(".sql")
        .ok_or_else(|| format!("migration {name:?} does not end in .sql"))?;
    let (version, description) = stem
        .split_once('_')
        .ok_or_else(|| format!("migration {name:?} has no description"))?;
    let version = version
        .parse()
        .map_err(|_| format!("migration {name:?} does not start with its version"))?;
    Ok(Migration::new(
        version,
        Cow::Owned(description.replace('_', " ")),
        MigrationType::Simple,
        Cow::Borrowed(sql),
        sql.starts_with("-- no-transaction"),
    ))
}

/// The migrator of one backend's list.
pub async fn migrator(files: &'static [File]) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded(files)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_disk(backend: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_migration_file_is_listed_in_order() {
        for (backend, list) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let listed: Vec<&str> = list.iter().map(|(name, _)| *name).collect();
            assert_eq!(
                listed,
                on_disk(backend),
                "{backend}: list and directory differ"
            );
        }
    }

    #[tokio::test]
    async fn versions_and_descriptions_are_read_from_the_names() {
        let migrator = migrator(SQLITE).await.unwrap();
        let first = migrator.iter().next().unwrap();
        assert_eq!((first.version, first.description.as_ref()), (1, "init"));
        let search = migrator.iter().find(|m| m.version == 13).unwrap();
        assert_eq!(search.description, "search index");
        assert!(!search.no_tx);
    }
}
