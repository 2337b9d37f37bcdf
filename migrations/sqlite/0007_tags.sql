-- File tags and file search (REST `/files/{uuid}/tags/`, `POST /files/search/`).
-- `files.tags` is the tag list in storage order (a JSON array of strings), read with the
-- file; `file_tags` holds one row per (project, tag, file) so tag filters are index lookups.
ALTER TABLE files ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE multipart_uploads ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';

CREATE TABLE file_tags (
    project    TEXT NOT NULL,
    tag        TEXT NOT NULL,
    file_uuid  TEXT NOT NULL,
    PRIMARY KEY (project, tag, file_uuid)
);
CREATE INDEX file_tags_file ON file_tags (file_uuid);

-- Search filters and sort keys other than the upload time (which files_project_uploaded
-- serves): exact values, ranges and orders within one project.
CREATE INDEX files_project_size ON files (project, size);
CREATE INDEX files_project_mime ON files (project, mime_type);
CREATE INDEX files_project_filename ON files (project, original_filename);
