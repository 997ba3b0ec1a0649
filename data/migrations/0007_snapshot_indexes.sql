-- Indexes that let a snapshot read only recent incidents and maintenance
-- (open ones, those created, updated or scheduled in the uptime window, the
-- newest few) without scanning and sorting the whole history.

CREATE INDEX incidents_kind_created ON incidents(kind, created_at);
CREATE INDEX incidents_kind_updated ON incidents(kind, updated_at);
CREATE INDEX incidents_kind_until ON incidents(kind, scheduled_until);
CREATE INDEX incidents_open ON incidents(kind) WHERE status NOT IN ('resolved', 'postmortem', 'completed');
