-- A project's group version: bumped in the same statement as `group_count` by every group
-- insert and delete, so a cached page of GET /groups/ is checked against the database with
-- one read of the project row (any replica's write changes it; see src/store/cache.rs).
ALTER TABLE projects ADD COLUMN group_version BIGINT NOT NULL DEFAULT 0;
