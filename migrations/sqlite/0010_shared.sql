-- Replicas on one database (docs/replicas.md, "What is shared"): state a client can observe
-- that used to live in one process's memory.
--
-- Live replicas: each writes its heartbeat (wall-clock microseconds) and the version of
-- `emulator_state` it has applied, every 100 ms. A replica whose heartbeat is older than the
-- liveness window is dead: the tasks and jobs it owned are failed by the others.
CREATE TABLE replicas (
    id            TEXT PRIMARY KEY NOT NULL,
    seen_version  BIGINT NOT NULL,
    heartbeat_us  BIGINT NOT NULL
);

-- One row: the emulator clock's offset (moved by the admin API) and a version bumped by
-- every admin change the replicas mirror in memory (clock, faults, projects).
CREATE TABLE emulator_state (
    id               INTEGER PRIMARY KEY NOT NULL,
    version          BIGINT NOT NULL,
    clock_offset_us  BIGINT NOT NULL
);
INSERT INTO emulator_state (id, version, clock_offset_us) VALUES (1, 0, 0);

-- Pending faults (admin API), used up by matching calls on any replica.
CREATE TABLE faults (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    amount       BIGINT NOT NULL,
    scope        TEXT NOT NULL,
    pub_key      TEXT,
    remaining    BIGINT NOT NULL
);

-- `/from_url/` tasks by token. `owner` is the replica downloading; `created_us` is wall time.
CREATE TABLE from_url_tasks (
    token          TEXT PRIMARY KEY NOT NULL,
    owner          TEXT NOT NULL,
    state          TEXT NOT NULL,
    total          BIGINT,
    done           BIGINT NOT NULL,
    project        TEXT,
    file_uuid      TEXT,
    error_code     TEXT,
    error_message  TEXT,
    created_us     BIGINT NOT NULL
);
CREATE INDEX from_url_tasks_owner ON from_url_tasks (owner, state);
CREATE INDEX from_url_tasks_created ON from_url_tasks (created_us);

-- The last creation/upload stamp handed out per project: stamps are unique and increasing
-- per project across replicas.
ALTER TABLE projects ADD COLUMN last_us BIGINT NOT NULL DEFAULT 0;

-- A claimed delivery is not due for another worker until its lease (wall time) ends.
ALTER TABLE webhook_deliveries ADD COLUMN lease_until_us BIGINT;

-- The replica running a conversion job.
ALTER TABLE conversion_jobs ADD COLUMN owner TEXT;
