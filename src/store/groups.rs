//! The `groups` and `group_members` tables, and the project's group count.

use super::rows::row_struct;
use async_trait::async_trait;
use uuid::Uuid;

use std::collections::HashMap;
use std::sync::Arc;

use super::cache::{CheckedGroup, CheckedGroups, PageKey, Seen, Verdict, VersionedPage};
use super::coalesce::Coalesced;
use super::db::{Arg, Db, Dialect, Sql, Tx};
use super::page::{decode, page_statement, Listing, Page};
use super::rows::{group_from_rows, MemberRow, GROUP_COLUMNS};
use super::{Expiry, GroupMember, GroupRecord, NewGroup, PageQuery, SqlStore};
use crate::error::StoreError;

/// A group and its members in order, each with its file.
pub type GroupWithMembers = (GroupRecord, Vec<GroupMember>);

/// A page of a project's groups (`GET /groups/`) with the project's group count (`total`)
/// and the group version it was read at (`None` when the project has no row): any change to
/// the project's groups, on any replica, moves the version.
#[derive(Clone, Debug)]
pub struct GroupsPage {
    /// The page.
    pub page: Page<GroupRecord>,
    /// Groups of the project.
    pub total: i64,
    /// The project's group version the page was read at.
    pub version: Option<i64>,
}

/// A JSON array of `rows`, as text: one statement parameter carrying many rows.
fn json_rows(rows: impl Iterator<Item = serde_json::Value>) -> String {
    serde_json::Value::Array(rows.collect()).to_string()
}

/// Reads and writes of groups.
#[async_trait]
pub trait GroupStore: Send + Sync {
    /// Writes a group and its members in one transaction, with the given creation time;
    /// `Ok(false)` when that time is taken in the project (the caller picks a later one).
    async fn insert_group(&self, group: &NewGroup, created_us: i64) -> Result<bool, StoreError>;
    /// Creates a group of live files (`POST /group/`): reads the member files and writes
    /// the group only if every one is a live file of the group's project under `expiry`,
    /// at a creation time of at least `floor_us` (see [`Tx::insert_groups`]); queued and
    /// written with other creates in one transaction. The group as written, each member
    /// with its file as read, or `None` when a member is not live.
    async fn create_group(
        &self,
        group: NewGroup,
        floor_us: i64,
        expiry: Expiry,
    ) -> Result<Option<GroupWithMembers>, StoreError>;
    /// Reads a group and its members, each with its file, in one query: of `project` when
    /// given, else of any project (the CDN is public).
    async fn group(
        &self,
        project: Option<&str>,
        uuid: Uuid,
    ) -> Result<Option<GroupWithMembers>, StoreError>;
    /// One page of the project's groups, by creation time, with the project's group count
    /// and group version, read together.
    async fn list_groups(&self, project: &str, page: &PageQuery) -> Result<GroupsPage, StoreError>;
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

/// [`Tx::insert_groups`] on SQLite, whose single process hands out the stamps: the groups,
/// their members and the projects' counts as three statements sent at once (one trip to
/// the driver's thread), each reading its rows from one JSON parameter, so the text is the
/// same for every batch (one prepared statement). Members are keyed by their group's
/// sequential id (migration 0015), so a batch appends them.
const INSERT_GROUPS_SQLITE: &str = "\
    INSERT INTO groups (uuid, project, files_count, created_us) \
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each($1); \
    INSERT INTO group_members (group_id, position, file_uuid, default_effects) \
    SELECT g.id, m.value ->> 1, m.value ->> 2, m.value ->> 3 \
    FROM json_each($2) AS m JOIN groups g ON g.uuid = (m.value ->> 0); \
    UPDATE projects SET group_count = group_count + (c.value ->> 1), \
    group_version = group_version + 1 \
    FROM json_each($3) AS c WHERE pub_key = (c.value ->> 0)";

/// [`Tx::insert_groups`] on Postgres, as one statement: each project's row hands out the
/// batch's creation times (as it does upload times, `files.rs`) and moves its count and
/// version in the same update, then the groups and members are written. `$1` is a JSON
/// array of `[uuid, project, files_count, floor_us]`, `$2` of members.
const INSERT_GROUPS_POSTGRES: &str = "\
    WITH b AS (SELECT e.v ->> 0 AS uuid, e.v ->> 1 AS project, \
    (e.v ->> 2)::bigint AS files_count, (e.v ->> 3)::bigint AS floor_us, e.i \
    FROM json_array_elements($1::json) WITH ORDINALITY AS e (v, i)), \
    r AS (SELECT b.*, row_number() OVER (PARTITION BY project ORDER BY i) AS n, \
    max(floor_us) OVER (PARTITION BY project) AS f FROM b), \
    p AS (SELECT project, count(*) AS k, max(floor_us) AS f FROM b GROUP BY project), \
    s AS (UPDATE projects SET last_us = GREATEST(projects.last_us + p.k, p.f + p.k - 1), \
    group_count = projects.group_count + p.k, group_version = projects.group_version + 1 \
    FROM p WHERE projects.pub_key = p.project \
    RETURNING projects.pub_key, projects.last_us - p.k AS before), \
    g AS (INSERT INTO groups (uuid, project, files_count, created_us) \
    SELECT r.uuid, r.project, r.files_count, COALESCE(s.before, r.f - 1) + r.n \
    FROM r LEFT JOIN s ON s.pub_key = r.project RETURNING uuid, created_us), \
    m AS (INSERT INTO group_members (group_uuid, position, file_uuid, default_effects) \
    SELECT e ->> 0, (e ->> 1)::bigint, e ->> 2, e ->> 3 FROM json_array_elements($2::json) AS e) \
    SELECT uuid, created_us FROM g";

/// Appends the group's members as `VALUES` rows `(position, file_uuid, default_effects)`.
fn push_member_rows(sql: &mut Sql, g: &NewGroup) {
    for (i, (file, effects)) in g.members.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(")
            .push_list::<Arg>([(i as i64).into(), (*file).into(), effects.into()])
            .push(")");
    }
}

impl Tx {
    /// Writes new groups, each with its members, and moves their projects' group counts, in
    /// statements whose text does not depend on the number of groups or members; returns
    /// each group's creation time, in order. `creates` pairs a group with a time: on SQLite
    /// (one process, whose clock hands out unique stamps) the creation time itself; on
    /// Postgres the earliest acceptable one, the time being taken from the project's row
    /// (`projects.last_us`, as upload times are): unique and increasing per project across
    /// replicas, and the row lock orders the project's commits. A creation time already
    /// taken in the project fails the whole call.
    pub async fn insert_groups(
        &mut self,
        creates: &[(&NewGroup, i64)],
    ) -> Result<Vec<i64>, StoreError> {
        if creates.is_empty() {
            return Ok(Vec::new());
        }
        let groups = json_rows(
            creates
                .iter()
                .map(|(g, at_us)| serde_json::json!([g.uuid, g.project, g.members.len(), at_us])),
        );
        let members = json_rows(creates.iter().flat_map(|(g, _)| {
            g.members
                .iter()
                .enumerate()
                .map(|(i, (file, effects))| serde_json::json!([g.uuid, i, file, effects]))
        }));
        let stamps = if self.dialect() == Dialect::Postgres {
            let rows: Vec<(String, i64)> = self
                .fetch_all(&Sql::new(INSERT_GROUPS_POSTGRES).bind(groups).bind(members))
                .await?;
            let by_uuid: std::collections::HashMap<String, i64> = rows.into_iter().collect();
            creates
                .iter()
                .map(|(g, _)| {
                    by_uuid.get(&g.uuid.to_string()).copied().ok_or_else(|| {
                        StoreError::Internal("a group insert returned no row".into())
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        } else {
            let mut counts: Vec<(&str, i64)> = Vec::new();
            for (g, _) in creates {
                match counts.iter_mut().find(|(p, _)| *p == g.project) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((&g.project, 1)),
                }
            }
            let counts = json_rows(counts.iter().map(|(p, n)| serde_json::json!([p, n])));
            self.execute(
                &Sql::new(INSERT_GROUPS_SQLITE)
                    .bind(groups)
                    .bind(members)
                    .bind(counts),
            )
            .await?;
            creates.iter().map(|(_, at_us)| *at_us).collect()
        };
        self.groups_changed(creates.iter().map(|(g, _)| g.uuid));
        Ok(stamps)
    }

    /// Writes a group and its members at the given creation time (tests, the seed):
    /// `Ok(false)` when that time is taken in the project. The project's stamp
    /// (`projects.last_us`) is moved past it, so [`Tx::insert_groups`] never picks it. On
    /// Postgres one statement (one round trip) writes the group, its members and the
    /// project's count; SQLite, which has no writing `WITH`, runs three.
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
        self.execute(
            &Sql::new(
                "UPDATE projects SET group_count = group_count + 1, \
                 group_version = group_version + 1, last_us = MAX(last_us, $1) \
                 WHERE pub_key = $2",
            )
            .bind(created_us)
            .bind(&g.project),
        )
        .await?;
        self.groups_changed([g.uuid]);
        if g.members.is_empty() {
            return Ok(true);
        }
        let mut sql = Sql::new(
            "INSERT INTO group_members (group_id, position, file_uuid, default_effects) \
             SELECT (SELECT id FROM groups WHERE uuid = $1), column1, column2, column3 \
             FROM (VALUES ",
        )
        .bind(g.uuid);
        push_member_rows(&mut sql, g);
        sql.push(")");
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
             group_version = group_version + 1, last_us = GREATEST(last_us, $4) \
             WHERE pub_key = (SELECT project FROM g))",
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
            push_member_rows(&mut sql, g);
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
        // Its members go with it (`ON DELETE CASCADE`).
        self.execute(&count_by(-1, project)).await?;
        self.groups_changed([uuid]);
        Ok(true)
    }

    /// Deletes every group of a project (test isolation).
    pub async fn delete_project_groups(&mut self, project: &str) -> Result<(), StoreError> {
        // Their members go with them (`ON DELETE CASCADE`).
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

row_struct! {
    /// A member row with its file's row version (Postgres' `xmin`, when asked for).
    struct VersionedMember {
        #[row(flatten)]
        row: MemberRow,
        file_version: Option<String>,
    }
}

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
        sql.push(" FROM groups g LEFT JOIN group_members m ON ")
            .push(self.db.dialect().group_of_member())
            .push(
                " LEFT JOIN files f ON f.uuid = m.file_uuid AND f.project = g.project \
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

    /// [`GroupStore::group`] on a shared database: a kept group is served once a batched
    /// check finds its row still there and its member files at the versions kept with it
    /// (see `cache.rs`, [`CheckedGroups`]); otherwise the group is read and kept.
    async fn checked_group(
        &self,
        checked: &CheckedReads,
        project: Option<&str>,
        uuid: Uuid,
    ) -> Result<Option<GroupWithMembers>, StoreError> {
        if let Some(kept) = checked.kept.get(uuid) {
            if project.is_some_and(|p| p != kept.project) {
                return Ok(None);
            }
            match kept.verdict(&*checked.checks.ask(kept.clone()).await?) {
                Verdict::Same => return Ok(Some(kept.group.clone())),
                Verdict::Gone => {
                    checked.kept.forget(uuid);
                    return Ok(None);
                }
                Verdict::Changed => {}
            }
        }
        let Some((owner, group, versions)) = self.load_group(project, uuid, true).await? else {
            return Ok(None);
        };
        checked.kept.put(owner, group.clone(), versions);
        Ok(Some(group))
    }
}

/// Groups kept from a database other processes write (Postgres), and the batched checks
/// that guard them (`cache.rs`, `coalesce.rs`).
pub(super) struct CheckedReads {
    kept: CheckedGroups,
    checks: Coalesced<Arc<CheckedGroup>, Seen>,
}

impl CheckedReads {
    /// Starts the checks' reading task over `db`.
    pub(super) fn spawn(db: Db) -> Self {
        Self {
            kept: CheckedGroups::default(),
            checks: Coalesced::spawn(move |kept| check_groups(db.clone(), kept)),
        }
    }
}

/// Checks kept groups (`cache.rs`, [`CheckedGroups`]) for a batch of requests in one
/// Postgres statement: which groups still have a row, and the member files' projects and row
/// versions.
async fn check_groups(db: Db, kept: Vec<Arc<CheckedGroup>>) -> Result<Seen, StoreError> {
    let groups = json_rows(kept.iter().map(|k| k.group.0.uuid.to_string().into()));
    let files = json_rows(
        kept.iter()
            .flat_map(|k| k.versions.iter().map(|(file, _)| file.clone().into())),
    );
    let rows: Vec<(String, Option<String>, Option<String>)> = db
        .fetch_all(
            &Sql::new(
                "SELECT uuid, NULL::text AS project, NULL::text AS version FROM groups \
                 WHERE uuid = ANY(ARRAY(SELECT json_array_elements_text($1::json))) \
                 UNION ALL SELECT uuid, project, xmin::text FROM files \
                 WHERE uuid = ANY(ARRAY(SELECT json_array_elements_text($2::json)))",
            )
            .bind(groups)
            .bind(files),
        )
        .await?;
    let mut seen = Seen::default();
    for (uuid, project, version) in rows {
        match (project, version) {
            (Some(project), Some(version)) => {
                seen.files.insert(uuid, (project, version));
            }
            _ => {
                seen.groups.insert(uuid);
            }
        }
    }
    Ok(seen)
}

/// Group versions and counts of the projects a batch of requests asks about, in one
/// statement: project → (group version, group count).
pub(super) async fn group_versions(
    db: Db,
    projects: Vec<String>,
) -> Result<HashMap<String, (i64, i64)>, StoreError> {
    let names = json_rows(projects.into_iter().map(Into::into));
    let among = match db.dialect() {
        Dialect::Postgres => "pub_key = ANY(ARRAY(SELECT json_array_elements_text($1::json)))",
        Dialect::Sqlite => "pub_key IN (SELECT value FROM json_each($1))",
    };
    let rows: Vec<(String, i64, i64)> = db
        .fetch_all(
            &Sql::new(format!(
                "SELECT pub_key, group_version, group_count FROM projects WHERE {among}"
            ))
            .bind(names),
        )
        .await?;
    Ok(rows.into_iter().map(|(p, v, n)| (p, (v, n))).collect())
}

#[async_trait]
impl GroupStore for SqlStore {
    async fn insert_group(&self, group: &NewGroup, created_us: i64) -> Result<bool, StoreError> {
        self.write(async |tx| tx.insert_group(group, created_us).await)
            .await
    }

    async fn create_group(
        &self,
        group: NewGroup,
        floor_us: i64,
        expiry: Expiry,
    ) -> Result<Option<GroupWithMembers>, StoreError> {
        self.group_commit.create(group, floor_us, expiry).await
    }

    async fn group(
        &self,
        project: Option<&str>,
        uuid: Uuid,
    ) -> Result<Option<GroupWithMembers>, StoreError> {
        let load = async {
            let found = self.load_group(project, uuid, false).await?;
            Ok(found.map(|(owner, group, _)| (owner, group)))
        };
        // SQLite's cache, or Postgres' while this replica is alone (`lease.rs`).
        if let Some(cache) = self.cache.as_ref().filter(|c| c.is_serving()) {
            return cache.group_through(project, uuid, load).await;
        }
        if let Some(checked) = &self.checked_groups {
            return self.checked_group(checked, project, uuid).await;
        }
        Ok(load.await?.map(|(_, group)| group))
    }

    async fn list_groups(&self, project: &str, q: &PageQuery) -> Result<GroupsPage, StoreError> {
        let key = PageKey::new(project, q);
        // A serving cache's generation, taken before the read (see `VersionedPage::generation`).
        let generation = self.cache.as_ref().and_then(|c| c.generation());
        if let Some(cached) = self.group_pages.get(&key) {
            let unchanged = if cached.generation.is_some() && cached.generation == generation {
                Some(cached.total)
            } else {
                // A batched primary-key read says whether the cached page is still the page.
                let versions = self.group_versions.ask(project.to_owned()).await?;
                let current = versions
                    .get(project)
                    .filter(|(version, _)| *version == cached.version)
                    .map(|(_, total)| *total);
                // Read after `generation` was taken, so as good as the page read again: kept
                // with it, the page is trusted once more until the next commit (any commit,
                // a webhook pass's say, moves the generation).
                if let (Some(total), Some(_)) = (current, generation) {
                    let again = VersionedPage {
                        total,
                        generation,
                        ..VersionedPage::clone(&cached)
                    };
                    self.group_pages.put(key.clone(), again);
                }
                current
            };
            if let Some(total) = unchanged {
                return Ok(GroupsPage {
                    page: cached.page.clone(),
                    total,
                    version: Some(cached.version),
                });
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
        let total = total.unwrap_or(0);
        if let Some(version) = version {
            let kept = VersionedPage {
                version,
                total,
                generation,
                page: page.clone(),
            };
            self.group_pages.put(key, kept);
        }
        Ok(GroupsPage {
            page,
            total,
            version,
        })
    }

    async fn count_groups(&self, project: &str) -> Result<i64, StoreError> {
        let versions = self.group_versions.ask(project.to_owned()).await?;
        Ok(versions.get(project).map_or(0, |(_, count)| *count))
    }

    async fn delete_group(&self, project: &str, uuid: Uuid) -> Result<bool, StoreError> {
        self.write(async |tx| tx.delete_group(project, uuid).await)
            .await
    }
}
