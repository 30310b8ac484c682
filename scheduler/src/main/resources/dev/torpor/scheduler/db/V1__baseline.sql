-- Torpor's registry as 0.1 left it: the tables and columns that its start-up DDL made (the
-- columns it later added with ALTER TABLE come last, in the order it added them, so that a
-- database made by that DDL and one made by this script are the same).
-- ${binary} and ${text} are the dialect's byte and long-text column types.

CREATE TABLE torpor_workflow (
  id VARCHAR(128) PRIMARY KEY, state VARCHAR(16) NOT NULL, seq BIGINT NOT NULL,
  request_hash VARCHAR(64) NOT NULL, app_sha256 VARCHAR(64) NOT NULL, main_class VARCHAR(1024) NOT NULL,
  args ${text} NOT NULL, java_options ${text} NOT NULL,
  wait_kind VARCHAR(16), wait_signal VARCHAR(128), wake_at BIGINT, in_memory BOOLEAN DEFAULT FALSE NOT NULL,
  stack ${text}, image_bytes BIGINT, packed_bytes BIGINT,
  last_wake_reason VARCHAR(16), last_wake_signal BIGINT, wake_failures INT DEFAULT 0 NOT NULL,
  exit_code INT, error ${text}, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
  images_kept VARCHAR(8) DEFAULT 'ALL' NOT NULL,
  owner VARCHAR(160),
  unrestorable BOOLEAN DEFAULT FALSE NOT NULL,
  env ${text} DEFAULT '{}' NOT NULL,
  log_bytes BIGINT DEFAULT 0 NOT NULL);

CREATE INDEX torpor_workflow_state ON torpor_workflow(state, wait_kind);
CREATE INDEX torpor_workflow_created ON torpor_workflow(created_at);
CREATE INDEX torpor_workflow_owner ON torpor_workflow(owner);

CREATE TABLE torpor_worker (
  id VARCHAR(160) PRIMARY KEY, name VARCHAR(128) NOT NULL, state VARCHAR(8) NOT NULL, beats BIGINT NOT NULL,
  max_running INT NOT NULL, facts ${text} NOT NULL, started_at BIGINT NOT NULL, heartbeat_at BIGINT NOT NULL);

CREATE TABLE torpor_log (
  workflow_id VARCHAR(128) NOT NULL, start_offset BIGINT NOT NULL, length INT NOT NULL, data ${binary} NOT NULL,
  PRIMARY KEY (workflow_id, start_offset));

CREATE TABLE torpor_decline (
  workflow_id VARCHAR(128) NOT NULL, seq BIGINT NOT NULL, worker_name VARCHAR(128) NOT NULL, reason ${text},
  at BIGINT NOT NULL, PRIMARY KEY (workflow_id, seq, worker_name));

CREATE TABLE torpor_signal (
  n ${identity} PRIMARY KEY, workflow_id VARCHAR(128) NOT NULL,
  name VARCHAR(128) NOT NULL, payload ${binary} NOT NULL, received_at BIGINT NOT NULL,
  delivered_seq BIGINT);

CREATE INDEX torpor_signal_pending ON torpor_signal(workflow_id, name, n);

CREATE TABLE torpor_history (
  n ${identity} PRIMARY KEY, workflow_id VARCHAR(128) NOT NULL,
  at BIGINT NOT NULL, type VARCHAR(32) NOT NULL, seq BIGINT NOT NULL, details ${text} NOT NULL);

CREATE INDEX torpor_history_workflow ON torpor_history(workflow_id, n);
