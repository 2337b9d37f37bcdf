-- The start-up sweep (src/sweep.rs) asks which blobs any file row still uses.
CREATE INDEX IF NOT EXISTS files_blob ON files (blob);
