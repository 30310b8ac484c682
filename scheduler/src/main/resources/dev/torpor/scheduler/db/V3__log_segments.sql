-- A cluster's log is kept per segment run (from a start or restore to the freeze or exit that
-- ended it), so that shipping one segment again, or running its transaction again after a lost
-- commit acknowledgement, stores nothing twice. A segment's chunks sit in torpor_log at the
-- segment's base offset plus their offset within it; segments are numbered in the order they
-- arrived, which is the order they ran (one owner at a time).
CREATE TABLE torpor_log_segment (
  workflow_id VARCHAR(128) NOT NULL, segment VARCHAR(200) NOT NULL, seg_no INT NOT NULL,
  base_offset BIGINT NOT NULL, length BIGINT NOT NULL, shipped_at BIGINT NOT NULL,
  PRIMARY KEY (workflow_id, segment));
CREATE UNIQUE INDEX torpor_log_segment_order ON torpor_log_segment(workflow_id, seg_no);

-- What was shipped before segments had names stays as it was, as one first segment.
INSERT INTO torpor_log_segment (workflow_id, segment, seg_no, base_offset, length, shipped_at)
  SELECT id, 'before-segments', 0, 0, log_bytes, updated_at FROM torpor_workflow WHERE log_bytes > 0;
