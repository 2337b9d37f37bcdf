-- Search indexes (POST /files/search/ and the console's file search at 1,000,000 files).
--
-- `file_tags.uploaded_us` (a file's upload time never changes) lets a tag condition walk its
-- files newest first straight from the index and stop after a page.
ALTER TABLE file_tags ADD COLUMN uploaded_us BIGINT NOT NULL DEFAULT 0;
UPDATE file_tags SET uploaded_us = COALESCE(
    (SELECT uploaded_us FROM files WHERE files.uuid = file_tags.file_uuid), 0);
CREATE INDEX file_tags_recent ON file_tags (project, tag, uploaded_us DESC, file_uuid);

-- One row per metadata key and value of a file, kept by triggers from `files.metadata`, so an
-- exact metadata condition is an index lookup (in upload-time order) instead of a JSON scan.
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
    SELECT f.project, m.key, m.value, f.uploaded_us, f.uuid FROM files f, json_each(f.metadata) m;
CREATE TRIGGER file_metadata_insert AFTER INSERT ON files BEGIN
    INSERT INTO file_metadata (project, key, value, uploaded_us, file_uuid)
        SELECT new.project, m.key, m.value, new.uploaded_us, new.uuid FROM json_each(new.metadata) m;
END;
CREATE TRIGGER file_metadata_update AFTER UPDATE OF metadata ON files BEGIN
    DELETE FROM file_metadata WHERE file_uuid = old.uuid;
    INSERT INTO file_metadata (project, key, value, uploaded_us, file_uuid)
        SELECT new.project, m.key, m.value, new.uploaded_us, new.uuid FROM json_each(new.metadata) m;
END;
CREATE TRIGGER file_metadata_delete AFTER DELETE ON files BEGIN
    DELETE FROM file_metadata WHERE file_uuid = old.uuid;
END;

-- A trigram full-text index over file names, MIME types and metadata (as JSON text), kept by
-- triggers: substring conditions of three characters or more read it first instead of
-- scanning every row. External content: the text stays in `files` (rowid-linked; the
-- emulator never VACUUMs; after a manual VACUUM run
-- `INSERT INTO files_text(files_text) VALUES('rebuild')`).
CREATE VIRTUAL TABLE files_text USING fts5(
    original_filename, mime_type, metadata,
    content = 'files', content_rowid = 'rowid', tokenize = 'trigram'
);
INSERT INTO files_text (files_text) VALUES ('rebuild');
CREATE TRIGGER files_text_insert AFTER INSERT ON files BEGIN
    INSERT INTO files_text (rowid, original_filename, mime_type, metadata)
        VALUES (new.rowid, new.original_filename, new.mime_type, new.metadata);
END;
CREATE TRIGGER files_text_delete AFTER DELETE ON files BEGIN
    INSERT INTO files_text (files_text, rowid, original_filename, mime_type, metadata)
        VALUES ('delete', old.rowid, old.original_filename, old.mime_type, old.metadata);
END;
CREATE TRIGGER files_text_update AFTER UPDATE OF original_filename, mime_type, metadata ON files BEGIN
    INSERT INTO files_text (files_text, rowid, original_filename, mime_type, metadata)
        VALUES ('delete', old.rowid, old.original_filename, old.mime_type, old.metadata);
    INSERT INTO files_text (rowid, original_filename, mime_type, metadata)
        VALUES (new.rowid, new.original_filename, new.mime_type, new.metadata);
END;
