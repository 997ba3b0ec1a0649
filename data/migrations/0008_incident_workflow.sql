-- The incident workflow: drafts that wait for a person, message templates
-- made in the admin, details Statuspage's shape has no place for (severity,
-- next update, postmortem), internal notes, maintenance reminders and
-- recurring maintenance. Times are Unix milliseconds (UTC).

-- An update's body as the page shows it: Markdown rendered once, at
-- publish. body keeps the plain text for the API, feeds, email and webhooks.
ALTER TABLE incident_updates ADD COLUMN body_html TEXT NOT NULL DEFAULT '';

CREATE TABLE incident_details (
	incident_id       TEXT PRIMARY KEY REFERENCES incidents(id),
	severity          TEXT NOT NULL DEFAULT '',
	next_update_by    INTEGER,
	template_id       TEXT NOT NULL DEFAULT '',
	postmortem_source TEXT NOT NULL DEFAULT '',
	postmortem_at     INTEGER,
	series_id         TEXT NOT NULL DEFAULT '' -- maintenance made from a recurring window
) STRICT, WITHOUT ROWID;
CREATE INDEX incident_details_next_update ON incident_details(next_update_by) WHERE next_update_by IS NOT NULL;

-- Notes for the team. Nothing public reads this table: not the page, the
-- API, the feeds, email or webhooks.
CREATE TABLE incident_notes (
	id          TEXT PRIMARY KEY,
	incident_id TEXT NOT NULL REFERENCES incidents(id),
	body        TEXT NOT NULL,
	actor       TEXT NOT NULL,
	created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX incident_notes_incident ON incident_notes(incident_id, created_at);

-- A draft is a new incident or maintenance, or an update on one, that is not
-- public yet: it declares no status input and writes no event until it is
-- published, which happens once.
CREATE TABLE incident_drafts (
	id              TEXT PRIMARY KEY,
	kind            TEXT NOT NULL CHECK (kind IN ('incident', 'maintenance')),
	incident_id     TEXT REFERENCES incidents(id), -- NULL: opens a new one
	name            TEXT NOT NULL DEFAULT '',
	status          TEXT NOT NULL,
	severity        TEXT NOT NULL DEFAULT '',
	impact          TEXT NOT NULL DEFAULT '',
	body            TEXT NOT NULL,                 -- Markdown
	components      TEXT NOT NULL DEFAULT '{}',    -- JSON: component id → status ("" links only)
	next_update_by  INTEGER,
	notify          INTEGER NOT NULL DEFAULT 1,
	template_id     TEXT NOT NULL DEFAULT '',
	variables       TEXT NOT NULL DEFAULT '{}',    -- JSON: the template's variables as typed
	scheduled_for   INTEGER,
	scheduled_until INTEGER,
	auto_transition INTEGER NOT NULL DEFAULT 0,
	note            TEXT NOT NULL DEFAULT '',      -- internal note posted with it
	proposed_by     TEXT NOT NULL DEFAULT '',      -- "" by a person; "statusd" when detection proposed it
	journey_id      TEXT NOT NULL DEFAULT '',
	created_by      TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	published_at    INTEGER,
	published_by    TEXT NOT NULL DEFAULT '',
	published_incident TEXT NOT NULL DEFAULT '',
	published_update   TEXT NOT NULL DEFAULT '',
	discarded_at    INTEGER
) STRICT;
CREATE INDEX incident_drafts_pending ON incident_drafts(created_at) WHERE published_at IS NULL AND discarded_at IS NULL;

-- Message templates made in the admin UI or API. The built-in ones ship in
-- the binary and the configured ones come from the file.
CREATE TABLE message_templates (
	id               TEXT PRIMARY KEY,
	name             TEXT NOT NULL,
	kind             TEXT NOT NULL CHECK (kind IN ('incident', 'maintenance')),
	status           TEXT NOT NULL,
	component_status TEXT NOT NULL DEFAULT '',
	severity         TEXT NOT NULL DEFAULT '',
	title            TEXT NOT NULL DEFAULT '',
	body             TEXT NOT NULL,
	created_by       TEXT NOT NULL,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL
) STRICT;

-- Each reminder before a maintenance starts goes out once.
CREATE TABLE maintenance_reminders (
	incident_id TEXT NOT NULL REFERENCES incidents(id),
	before_ms   INTEGER NOT NULL,
	sent_at     INTEGER NOT NULL,
	PRIMARY KEY (incident_id, before_ms)
) STRICT, WITHOUT ROWID;

-- Recurring maintenance: an RFC 5545 RRULE in a named time zone, expanded
-- ahead of time into ordinary maintenance windows, one per occurrence.
CREATE TABLE maintenance_series (
	id              TEXT PRIMARY KEY,
	name            TEXT NOT NULL,
	rrule           TEXT NOT NULL,
	time_zone       TEXT NOT NULL,
	first_start     INTEGER NOT NULL,
	duration_ms     INTEGER NOT NULL,
	components      TEXT NOT NULL DEFAULT '[]',
	body            TEXT NOT NULL,
	auto_transition INTEGER NOT NULL DEFAULT 1,
	notify          INTEGER NOT NULL DEFAULT 1,
	created_by      TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	ended_at        INTEGER
) STRICT;

CREATE TABLE maintenance_occurrences (
	series_id   TEXT NOT NULL REFERENCES maintenance_series(id),
	starts_at   INTEGER NOT NULL,
	incident_id TEXT NOT NULL REFERENCES incidents(id),
	PRIMARY KEY (series_id, starts_at)
) STRICT, WITHOUT ROWID;
