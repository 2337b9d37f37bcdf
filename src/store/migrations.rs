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
    "0015_group_member_order.sql",
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

    /// Migration 0015 moves SQLite's groups and members to sequential keys: every group and
    /// member an older build wrote is there after it, in order, and deletes still cascade.
    #[tokio::test]
    async fn sqlite_groups_keep_their_members_across_0015() {
        use sqlx::{Connection, SqliteConnection};
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
        let mut db = SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("PRAGMA foreign_keys = ON")
            .execute(&mut db)
            .await
            .unwrap();
        let before = SQLITE
            .iter()
            .position(|(n, _)| n.starts_with("0015"))
            .unwrap();
        migrator(&SQLITE[..before])
            .await
            .unwrap()
            .run(&mut db)
            .await
            .unwrap();
        for (i, uuid) in ["b", "a", "c"].iter().enumerate() {
            sqlx::query(
                "INSERT INTO groups (uuid, project, files_count, created_us) VALUES (?, 'p', 2, ?)",
            )
            .bind(uuid)
            .bind(i as i64)
            .execute(&mut db)
            .await
            .unwrap();
            for position in [1i64, 0] {
                sqlx::query("INSERT INTO group_members VALUES (?, ?, ?, '')")
                    .bind(uuid)
                    .bind(position)
                    .bind(format!("{uuid}{position}"))
                    .execute(&mut db)
                    .await
                    .unwrap();
            }
        }
        migrator(SQLITE).await.unwrap().run(&mut db).await.unwrap();
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT g.uuid, m.file_uuid FROM groups g JOIN group_members m ON m.group_id = g.id \
             ORDER BY g.id, m.position",
        )
        .fetch_all(&mut db)
        .await
        .unwrap();
        let got: Vec<String> = rows.iter().map(|(g, f)| format!("{g}:{f}")).collect();
        assert_eq!(got, ["b:b0", "b:b1", "a:a0", "a:a1", "c:c0", "c:c1"]);
        sqlx::query("DELETE FROM groups WHERE uuid = 'a'")
            .execute(&mut db)
            .await
            .unwrap();
        let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM group_members")
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(left, 4);
    }
}
