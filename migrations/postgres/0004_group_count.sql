-- `total` of GET /groups/ is the project's group count: kept in the project row, updated in
-- the same transaction as every group insert and delete, so a page never counts rows.
ALTER TABLE projects ADD COLUMN group_count BIGINT NOT NULL DEFAULT 0;
UPDATE projects SET group_count = (SELECT COUNT(*) FROM groups WHERE groups.project = projects.pub_key);
