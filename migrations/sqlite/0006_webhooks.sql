-- Webhooks: hooks (REST /webhooks/), the outbox of events written in the same transaction as
-- the file change each describes, and one delivery per event and hook with its attempts.
-- Times are microseconds since the Unix epoch (on the emulator's clock).
CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    project         TEXT NOT NULL,
    event           TEXT NOT NULL,
    target_url      TEXT NOT NULL,
    is_active       BOOLEAN NOT NULL,
    signing_secret  TEXT,
    version         TEXT NOT NULL,
    created_us      BIGINT NOT NULL,
    updated_us      BIGINT NOT NULL
);
-- "A target URL MUST be unique for each project — event type combination."
CREATE UNIQUE INDEX webhooks_subscription ON webhooks (project, event, target_url);

CREATE TABLE webhook_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project     TEXT NOT NULL,
    event       TEXT NOT NULL,
    file_uuid   TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_us  BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id         BIGINT NOT NULL,
    project          TEXT NOT NULL,
    hook_id          BIGINT NOT NULL,
    event            TEXT NOT NULL,
    file_uuid        TEXT NOT NULL,
    target_url       TEXT NOT NULL,
    signing_secret   TEXT,
    body             TEXT NOT NULL,
    created_us       BIGINT NOT NULL,
    state            TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    next_attempt_us  BIGINT,
    last_status      BIGINT,
    last_error       TEXT,
    last_latency_us  BIGINT,
    last_attempt_us  BIGINT
);
-- Due deliveries, and the per-file order check (an earlier pending one of the file and target).
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_us);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (file_uuid, target_url, state, id);
CREATE INDEX webhook_deliveries_project ON webhook_deliveries (project, id);
