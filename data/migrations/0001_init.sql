-- statusd schema, version 1. Times are Unix milliseconds (UTC).

CREATE TABLE journeys (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	position    INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	archived_at INTEGER
) STRICT;

CREATE TABLE components (
	id                    TEXT PRIMARY KEY,
	journey_id            TEXT NOT NULL REFERENCES journeys(id),
	group_id              TEXT REFERENCES components(id),
	is_group              INTEGER NOT NULL DEFAULT 0,
	name                  TEXT NOT NULL,
	description           TEXT NOT NULL DEFAULT '',
	position              INTEGER NOT NULL,
	showcase              INTEGER NOT NULL DEFAULT 1,
	only_show_if_degraded INTEGER NOT NULL DEFAULT 0,
	status                TEXT NOT NULL DEFAULT 'operational',
	created_at            INTEGER NOT NULL,
	updated_at            INTEGER NOT NULL,
	archived_at           INTEGER
) STRICT;
CREATE INDEX components_journey ON components(journey_id, position);

-- Every status a component has had, with who or what set it and why.
CREATE TABLE component_status_history (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	component_id TEXT NOT NULL REFERENCES components(id),
	old_status   TEXT NOT NULL DEFAULT '',
	new_status   TEXT NOT NULL,
	source       TEXT NOT NULL,
	actor        TEXT NOT NULL,
	reason       TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX component_status_history_component ON component_status_history(component_id, created_at);
CREATE INDEX component_status_history_time ON component_status_history(created_at);

-- Incidents and scheduled maintenance share one table, as Statuspage's API does.
CREATE TABLE incidents (
	id              TEXT PRIMARY KEY,
	kind            TEXT NOT NULL CHECK (kind IN ('incident', 'maintenance')),
	name            TEXT NOT NULL,
	status          TEXT NOT NULL,
	impact          TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	started_at      INTEGER NOT NULL,
	monitoring_at   INTEGER,
	resolved_at     INTEGER,
	scheduled_for   INTEGER,
	scheduled_until INTEGER
) STRICT;
CREATE INDEX incidents_created ON incidents(created_at);

CREATE TABLE incident_components (
	incident_id  TEXT NOT NULL REFERENCES incidents(id),
	component_id TEXT NOT NULL REFERENCES components(id),
	PRIMARY KEY (incident_id, component_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE incident_updates (
	id          TEXT PRIMARY KEY,
	incident_id TEXT NOT NULL REFERENCES incidents(id),
	status      TEXT NOT NULL,
	body        TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	display_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX incident_updates_incident ON incident_updates(incident_id, display_at);

CREATE TABLE incident_update_components (
	update_id    TEXT NOT NULL REFERENCES incident_updates(id),
	component_id TEXT NOT NULL REFERENCES components(id),
	old_status   TEXT NOT NULL,
	new_status   TEXT NOT NULL,
	PRIMARY KEY (update_id, component_id)
) STRICT, WITHOUT ROWID;

-- Who did what, for people reviewing changes later.
CREATE TABLE audit_log (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	actor      TEXT NOT NULL,
	action     TEXT NOT NULL,
	subject    TEXT NOT NULL,
	detail     TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
) STRICT;

-- The outbox: every change writes its event here in the same transaction.
CREATE TABLE events (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	kind       TEXT NOT NULL,
	subject    TEXT NOT NULL,
	payload    TEXT NOT NULL DEFAULT '{}',
	created_at INTEGER NOT NULL
) STRICT;
