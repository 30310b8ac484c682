-- What Torpor's start-up DDL ran before the schema had versions, kept only to bring a database
-- made by any such build (some lack the columns added later) to exactly what V1__baseline makes,
-- before it is recorded as version 1. Never edit: new changes are new versioned migrations.

CREATE TABLE IF NOT EXISTS torpor_workflow (
  id VARCHAR(128) PRIMARY KEY, state VARCHAR(16) NOT NULL, seq BIGINT NOT NULL,
  request_hash VARCHAR(64) NOT NULL, app_sha256 VARCHAR(64) NOT NULL, main_class VARCHAR(1024) NOT NULL,
  args ${text} NOT NULL, java_options ${text} NOT NULL,
  wait_kind VARCHAR(16), wait_signal VARCHAR(128), wake_at BIGINT, in_memory BOOLEAN DEFAULT FALSE NOT NULL,
  stack ${text}, image_bytes BIGINT, packed_bytes BIGINT,
  last_wake_reason VARCHAR(16), last_wake_signal BIGINT, wake_failures INT DEFAULT 0 NOT NULL,
  exit_code INT, error ${text}, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS torpor_workflow_state ON torpor_workflow(state, wait_kind);
ALTER TABLE torpor_workflow ADD COLUMN IF NOT EXISTS images_kept VARCHAR(8) DEFAULT 'ALL' NOT NULL;
CREATE INDEX IF NOT EXISTS torpor_workflow_created ON torpor_workflow(created_at);
ALTER TABLE torpor_workflow ADD COLUMN IF NOT EXISTS owner VARCHAR(160);
ALTER TABLE torpor_workflow ADD COLUMN IF NOT EXISTS unrestorable BOOLEAN DEFAULT FALSE NOT NULL;
CREATE INDEX IF NOT EXISTS torpor_workflow_owner ON torpor_workflow(owner);
ALTER TABLE torpor_workflow ADD COLUMN IF NOT EXISTS env ${text} DEFAULT '{}' NOT NULL;
CREATE TABLE IF NOT EXISTS torpor_worker (
  id VARCHAR(160) PRIMARY KEY, name VARCHAR(128) NOT NULL, state VARCHAR(8) NOT NULL, beats BIGINT NOT NULL,
  max_running INT NOT NULL, facts ${text} NOT NULL, started_at BIGINT NOT NULL, heartbeat_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS torpor_log (
  workflow_id VARCHAR(128) NOT NULL, start_offset BIGINT NOT NULL, length INT NOT NULL, data ${binary} NOT NULL,
  PRIMARY KEY (workflow_id, start_offset));
ALTER TABLE torpor_workflow ADD COLUMN IF NOT EXISTS log_bytes BIGINT DEFAULT 0 NOT NULL;
CREATE TABLE IF NOT EXISTS torpor_decline (
  workflow_id VARCHAR(128) NOT NULL, seq BIGINT NOT NULL, worker_name VARCHAR(128) NOT NULL, reason ${text},
  at BIGINT NOT NULL, PRIMARY KEY (workflow_id, seq, worker_name));
CREATE TABLE IF NOT EXISTS torpor_signal (
  n ${identity} PRIMARY KEY, workflow_id VARCHAR(128) NOT NULL,
  name VARCHAR(128) NOT NULL, payload ${binary} NOT NULL, received_at BIGINT NOT NULL,
  delivered_seq BIGINT);
CREATE INDEX IF NOT EXISTS torpor_signal_pending ON torpor_signal(workflow_id, name, n);
CREATE TABLE IF NOT EXISTS torpor_history (
  n ${identity} PRIMARY KEY, workflow_id VARCHAR(128) NOT NULL,
  at BIGINT NOT NULL, type VARCHAR(32) NOT NULL, seq BIGINT NOT NULL, details ${text} NOT NULL);
CREATE INDEX IF NOT EXISTS torpor_history_workflow ON torpor_history(workflow_id, n);
