//! The `groups` and `group_members` tables, and the project's group count.

use super::rows::from_row;
use async_trait::async_trait;
use uuid::Uuid;

use super::cache::{CheckedGroups, PageKey};
use super::db::{Arg, Dialect, Sql, Tx};
use super::page::{decode, page_statement, Listing, Page};
use super::rows::{group_from_rows, MemberRow, GROUP_COLUMNS};
use super::{GroupMember, GroupRecord, NewGroup, PageQuery, SqlStore};
use crate::error::StoreError;

/// A group and its members in order, each with its file.
pub type GroupWithMembers = (GroupRecord, Vec<GroupMember>);

/// Reads and writes of groups.
#[async_trait]
pub trait GroupStore: Send + Sync {
    /// Writes a group and its members in one transaction, with the given creation time;
    /// `Ok(false)` when that time is taken in the project (the caller picks a later one).
    async fn insert_group(&self, group: &NewGroup, created_us: i64) -> Result<bool, StoreError>;
    /// Reads a group and its members, each with its file, in one query: of `project` when
    /// given, else of any project (the CDN is public).
    async fn group(
        &self,
        project: Option<&str>,
        uuid: Uuid,
    ) -> Result<Option<GroupWithMembers>, StoreError>;
    /// One page of the project's groups, by creation time, and the project's group count
    /// (`total`), read together.
    async fn list_groups(
        &self,
        project: &str,
        page: &PageQuery,
    ) -> Result<(Page<GroupRecord>, i64), StoreError>;
    /// Number of groups of the project.
    async fn count_groups(&self, project: &str) -> Result<i64, StoreError>;
    /// Deletes a group (its files stay); `false` if it did not exist.
    async fn delete_group(&self, project: &str, uuid: Uuid) -> Result<bool, StoreError>;
}

/// Moves the project's group count by `delta` and bumps its group version (which voids
/// cached pages of its groups, see `cache.rs`).
fn count_by(delta: i64, project: &str) -> Sql {
    Sql::new(
        "UPDATE projects SET group_count = group_count + $1, \
         group_version = group_version + 1 WHERE pub_key = $2",
    )
    .bind(delta)
    .bind(project)
}

impl Tx {
    /// See [`GroupStore::insert_group`]. On Postgres one statement (one round trip) writes
    /// the group, its members and the project's count; SQLite, which has no writing `WITH`,
    /// runs three.
    pub async fn insert_group(
        &mut self,
        g: &NewGroup,
        created_us: i64,
    ) -> Result<bool, StoreError> {
        if self.dialect() == Dialect::Postgres {
            return self.insert_group_at_once(g, created_us).await;
        }
        let inserted = self
            .execute(
                &Sql::new(
                    "INSERT INTO groups (uuid, project, files_count, created_us) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (project, created_us) DO NOTHING",
                )
                .bind(g.uuid)
                .bind(&g.project)
                .bind(g.members.len() as i64)
                .bind(created_us),
            )
            .await?;
        if inserted == 0 {
            return Ok(false);
        }
        self.execute(&count_by(1, &g.project)).await?;
        self.groups_changed([g.uuid]);
        if g.members.is_empty() {
            return Ok(true);
        }
        let group_uuid = g.uuid.to_string();
        let mut sql = Sql::new(
            "INSERT INTO group_members (group_uuid, position, file_uuid, default_effects) VALUES ",
        );
        for (i, (file, effects)) in g.members.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .push_list::<Arg>([
                    group_uuid.clone().into(),
                    (i as i64).into(),
                    (*file).into(),
                    effects.into(),
                ])
                .push(")");
        }
        self.execute(&sql).await?;
        Ok(true)
    }

    /// [`Tx::insert_group`] as one Postgres statement: the members and the count are written
    /// only when the group row was (its creation time was free).
    async fn insert_group_at_once(
        &mut self,
        g: &NewGroup,
        created_us: i64,
    ) -> Result<bool, StoreError> {
        let mut sql = Sql::new(
            "WITH g AS (INSERT INTO groups (uuid, project, files_count, created_us) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (project, created_us) DO NOTHING \
             RETURNING uuid, project), \
             c AS (UPDATE projects SET group_count = group_count + 1, \
             group_version = group_version + 1 WHERE pub_key = (SELECT project FROM g))",
        )
        .bind(g.uuid)
        .bind(&g.project)
        .bind(g.members.len() as i64)
        .bind(created_us);
        if !g.members.is_empty() {
            sql.push(
                ", m AS (INSERT INTO group_members \
                 (group_uuid, position, file_uuid, default_effects) \
                 SELECT g.uuid, v.position, v.file_uuid, v.effects FROM g, (VALUES ",
            );
            for (i, (file, effects)) in g.members.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.push("(")
                    .push_list::<Arg>([(i as i64).into(), (*file).into(), effects.into()])
                    .push(")");
            }
            sql.push(") AS v (position, file_uuid, effects))");
        }
        sql.push(" SELECT COUNT(*) FROM g");
        let (inserted,): (i64,) = self
            .fetch_optional(&sql)
            .await?
            .ok_or_else(|| StoreError::Internal("a count returned no row".into()))?;
        if inserted == 0 {
            return Ok(false);
        }
        self.groups_changed([g.uuid]);
        Ok(true)
    }

    /// See [`GroupStore::delete_group`].
    pub async fn delete_group(&mut self, project: &str, uuid: Uuid) -> Result<bool, StoreError> {
        let deleted = self
            .execute(
                &Sql::new("DELETE FROM groups WHERE uuid = $1 AND project = $2")
                    .bind(uuid)
                    .bind(project),
            )
            .await?;
        if deleted == 0 {
            return Ok(false);
        }
        self.execute(&Sql::new("DELETE FROM group_members WHERE group_uuid = $1").bind(uuid))
            .await?;
        self.execute(&count_by(-1, project)).await?;
        self.groups_changed([uuid]);
        Ok(true)
    }

    /// Deletes every group of a project (test isolation).
    pub async fn delete_project_groups(&mut self, project: &str) -> Result<(), StoreError> {
        self.execute(
            &Sql::new(
                "DELETE FROM group_members WHERE group_uuid IN \
                 (SELECT uuid FROM groups WHERE project = $1)",
            )
            .bind(project),
        )
        .await?;
        self.execute(&Sql::new("DELETE FROM groups WHERE project = $1").bind(project))
            .await?;
        self.execute(
            &Sql::new(
                "UPDATE projects SET group_count = 0, group_version = group_version + 1 \
                 WHERE pub_key = $1",
            )
            .bind(project),
        )
        .await?;
        self.all_changed();
        Ok(())
    }
}

/// A member row with its file's row version (Postgres' `xmin`, when asked for).
struct VersionedMember {
    row: MemberRow,
    file_version: Option<String>,
}
from_row!(VersionedMember {
    #[flatten]
    row,
    file_version
});

/// A group read from the database: its project, the group, and the row versions of its
/// member files (sorted and deduplicated; empty unless asked for).
type LoadedGroup = (String, GroupWithMembers, Vec<(String, String)>);

/// A page of groups with the project's count and version (`page::page_statement`'s row).
type PageRow = (String, bool, bool, Option<i64>, Option<i64>);

impl SqlStore {
    /// Reads a group, its members in order and each member's file in one query; with
    /// `versions` (Postgres only) also the member files' row versions.
    async fn load_group(
        &self,
        project: Option<&str>,
        uuid: Uuid,
        versions: bool,
    ) -> Result<Option<LoadedGroup>, StoreError> {
        let mut sql = Sql::new(
            "SELECT g.project AS group_project, g.files_count, g.created_us, \
             m.file_uuid AS member_uuid, m.default_effects, \
             f.uuid, f.project, f.size, f.blob, f.original_filename, f.mime_type, \
             f.image_format, f.image_width, f.image_height, f.color_mode, f.metadata, \
             f.tags, f.uploaded_us, f.stored_us, f.removed_us",
        );
        sql.push(if versions {
            ", f.xmin::text AS file_version"
        } else {
            ", NULL AS file_version"
        });
        sql.push(
            " FROM groups g \
             LEFT JOIN group_members m ON m.group_uuid = g.uuid \
             LEFT JOIN files f ON f.uuid = m.file_uuid AND f.project = g.project \
             WHERE g.uuid = ",
        )
        .push_bind(uuid);
        if let Some(project) = project {
            sql.push(" AND g.project = ").push_bind(project);
        }
        sql.push(" ORDER BY m.position");
        let rows: Vec<VersionedMember> = self.db.fetch_all(&sql).await?;
        let Some(owner) = rows.first().map(|r| r.row.group_project.clone()) else {
            return Ok(None);
        };
        let (rows, row_versions): (Vec<MemberRow>, Vec<Option<String>>) =
            rows.into_iter().map(|r| (r.row, r.file_version)).unzip();
        let Some(group) = group_from_rows(uuid, rows)? else {
            return Ok(None);
        };
        let mut file_versions = Vec::new();
        // One row per member (an empty group has one row and no member).
        if versions && group.1.len() == row_versions.len() {
            for (member, version) in group.1.iter().zip(row_versions) {
                if let (Some(_), Some(v)) = (&member.file, version) {
                    file_versions.push((member.file_uuid.to_string(), v));
                }
            }
            file_versions.sort_unstable();
            file_versions.dedup();
        }
        Ok(Some((owner, group, file_versions)))
    }

    /// [`GroupStore::group`] on a shared database: a kept group is served once one narrow
    /// statement finds its row still there and its member files at the versions kept with
    /// it (see `cache.rs`, [`CheckedGroups`]); otherwise the group is read and kept.
    async fn checked_group(
        &self,
        checked: &CheckedGroups,
        project: Option<&str>,
        uuid: Uuid,
    ) -> Result<Option<GroupWithMembers>, StoreError> {
        if let Some(kept) = checked.get(uuid) {
            if project.is_some_and(|p| p != kept.project) {
                return Ok(None);
            }
            let mut sql = Sql::new(
                "SELECT NULL::text AS uuid, NULL::text AS version FROM groups WHERE uuid = $1",
            )
            .bind(uuid);
            if !kept.versions.is_empty() {
                sql.push(
                    " UNION ALL SELECT uuid, xmin::text FROM files \
                     WHERE project = ",
                )
                .push_bind(&kept.project)
                .push(" AND uuid IN (")
                .push_list(kept.versions.iter().map(|(u, _)| u.as_str()))
                .push(")");
            }
            let rows: Vec<(Option<String>, Option<String>)> = self.db.fetch_all(&sql).await?;
            let mut there = false;
            let mut now = Vec::with_capacity(kept.versions.len());
            for row in rows {
                match row {
                    (Some(file), Some(version)) => now.push((file, version)),
                    _ => there = true,
                }
            }
            if !there {
                checked.forget(uuid);
                return Ok(None);
            }
            now.sort_unstable();
            if now == kept.versions {
                return Ok(Some(kept.group.clone()));
            }
        }
        let Some((owner, group, versions)) = self.load_group(project, uuid, true).await? else {
            return Ok(None);
        };
        checked.put(owner, group.clone(), versions);
        Ok(Some(group))
    }

    /// The project's group version (`None` without a project row) and group count.
    async fn group_version(&self, project: &str) -> Result<(Option<i64>, i64), StoreError> {
        let row: Option<(i64, i64)> = self
            .db
            .fetch_optional(
                &Sql::new("SELECT group_version, group_count FROM projects WHERE pub_key = $1")
                    .bind(project),
            )
            .await?;
        Ok(row.map_or((None, 0), |(v, n)| (Some(v), n)))
    }
}

#[async_trait]
impl GroupStore for SqlStore {
    async fn insert_group(&self, group: &NewGroup, created_us: i64) -> Result<bool, StoreError> {
        self.group_commit.insert(group, created_us).await
    }

    async fn group(
        &self,
        project: Option<&str>,
        uuid: Uuid,
    ) -> Result<Option<GroupWithMembers>, StoreError> {
        if let Some(checked) = &self.checked_groups {
            return self.checked_group(checked, project, uuid).await;
        }
        let load = async {
            let found = self.load_group(project, uuid, false).await?;
            Ok(found.map(|(owner, group, _)| (owner, group)))
        };
        match &self.cache {
            Some(cache) => cache.group_through(project, uuid, load).await,
            None => Ok(load.await?.map(|(_, group)| group)),
        }
    }

    async fn list_groups(
        &self,
        project: &str,
        q: &PageQuery,
    ) -> Result<(Page<GroupRecord>, i64), StoreError> {
        let key = PageKey::new(project, q);
        if let Some(cached) = self.group_pages.get(&key) {
            // One primary-key read says whether the cached page is still the page.
            let (version, total) = self.group_version(project).await?;
            if version == Some(cached.version) {
                return Ok((cached.page.clone(), total));
            }
        }
        let listing = Listing {
            table: "groups",
            time: "created_us",
            columns: GROUP_COLUMNS,
            condition: &|sql| {
                sql.push("project = ").push_bind(project);
            },
        };
        // The page, the count and the version in one statement (one snapshot).
        let mut sql = page_statement(self.db.dialect(), &listing, q);
        sql.push(
            ", p.group_count, p.group_version FROM (SELECT 1) AS one \
             LEFT JOIN projects p ON p.pub_key = ",
        )
        .push_bind(project);
        let (items, later, earlier, total, version): PageRow = self.db.fetch_one(&sql).await?;
        let page = decode(q, &items, later, earlier)?;
        if let Some(version) = version {
            self.group_pages.put(key, version, page.clone());
        }
        Ok((page, total.unwrap_or(0)))
    }

    async fn count_groups(&self, project: &str) -> Result<i64, StoreError> {
        Ok(self.group_version(project).await?.1)
    }

    async fn delete_group(&self, project: &str, uuid: Uuid) -> Result<bool, StoreError> {
        self.write(async |tx| tx.delete_group(project, uuid).await)
            .await
    }
}
