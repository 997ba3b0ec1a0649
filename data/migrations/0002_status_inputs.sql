-- The status model: a component's status is resolved from inputs, each
-- written by one source (a person's override, an open incident, a maintenance
-- window in progress, automatic detection) with its reason.

CREATE TABLE component_inputs (
	component_id TEXT NOT NULL REFERENCES components(id),
	source       TEXT NOT NULL CHECK (source IN ('override', 'incident', 'maintenance', 'automatic')),
	key          TEXT NOT NULL DEFAULT '',
	status       TEXT NOT NULL,
	reason       TEXT NOT NULL DEFAULT '',
	actor        TEXT NOT NULL,
	updated_at   INTEGER NOT NULL,
	PRIMARY KEY (component_id, source, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX component_inputs_key ON component_inputs(source, key);

-- Why each component has its status: the input that decided and its reason,
-- kept beside the status so the page reads it without a history scan.
ALTER TABLE components ADD COLUMN status_source TEXT NOT NULL DEFAULT '';
ALTER TABLE components ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE components ADD COLUMN status_changed_at INTEGER;
UPDATE components SET status_changed_at = updated_at;

-- A status set before inputs existed (set-status, an incident) becomes an
-- override, so nothing on the page changes with the upgrade.
INSERT INTO component_inputs(component_id, source, key, status, reason, actor, updated_at)
	SELECT id, 'override', '', status, 'set before the status model', 'statusd', updated_at
	FROM components WHERE status != 'operational' AND is_group = 0 AND archived_at IS NULL;
UPDATE components SET status_source = 'override', status_reason = 'set before the status model'
	WHERE status != 'operational' AND is_group = 0 AND archived_at IS NULL;

-- What an incident update declared for a component (the effective status the
-- update caused stays in old_status/new_status).
ALTER TABLE incident_update_components ADD COLUMN declared TEXT NOT NULL DEFAULT '';

-- Maintenance windows that start and complete on their own at their times.
ALTER TABLE incidents ADD COLUMN auto_transition INTEGER NOT NULL DEFAULT 0;

-- Events carry a typed JSON payload; the format version tells old rows apart.
ALTER TABLE events ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- Each consumer of events (the notifier, draft proposals) keeps its position
-- here, advanced in the same transaction as its own writes.
CREATE TABLE event_cursors (
	consumer   TEXT PRIMARY KEY,
	position   INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

-- The maintenance scheduler looks for automatic windows that are due.
CREATE INDEX incidents_auto_transition ON incidents(status, scheduled_for) WHERE kind = 'maintenance' AND auto_transition = 1;
