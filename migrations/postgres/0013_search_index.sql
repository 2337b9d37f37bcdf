-- Search indexes (POST /files/search/ and the console's file search at 1,000,000 files).
--
-- `file_tags.uploaded_us` (a file's upload time never changes) lets a tag condition walk its
-- files newest first straight from the index and stop after a page.
ALTER TABLE file_tags ADD COLUMN uploaded_us BIGINT NOT NULL DEFAULT 0;
UPDATE file_tags SET uploaded_us = COALESCE(
    (SELECT uploaded_us FROM files WHERE files.uuid = file_tags.file_uuid), 0);
CREATE INDEX file_tags_recent ON file_tags (project, tag, uploaded_us DESC, file_uuid);

-- One row per metadata key and value of a file, kept by a trigger from `files.metadata`, so
-- an exact metadata condition is an index lookup (in upload-time order) instead of a JSON scan.
CREATE TABLE file_metadata (
    project      TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    uploaded_us  BIGINT NOT NULL,
    file_uuid    TEXT NOT NULL
);
CREATE INDEX file_metadata_recent ON file_metadata (project, key, value, uploaded_us DESC, file_uuid);
CREATE INDEX file_metadata_file ON file_metadata (file_uuid);
INSERT INTO file_metadata (project, key, value, uploaded_us, file_uuid)
    SELECT f.project, m.key, m.value, f.uploaded_us, f.uuid
    FROM files f, json_each_text(f.metadata::json) m;
CREATE FUNCTION file_metadata_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM file_metadata WHERE file_uuid = OLD.uuid;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO file_metadata (project, key, value, uploaded_us, file_uuid)
            SELECT NEW.project, m.key, m.value, NEW.uploaded_us, NEW.uuid
            FROM json_each_text(NEW.metadata::json) m;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER file_metadata_sync AFTER INSERT OR DELETE OR UPDATE OF metadata ON files
    FOR EACH ROW EXECUTE FUNCTION file_metadata_sync();
