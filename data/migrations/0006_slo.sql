-- SLOs: per-minute counts of good and all events from each SLO's feed, and
-- the figures the SLO engine last computed, which the snapshot reads so that
-- nothing is computed on request.

-- One row per SLO and minute with events. minute is the minute's start in
-- Unix milliseconds. A feed that reads from Prometheus or probe results
-- replaces a minute; pushed events add to it.
CREATE TABLE slo_minutes (
	slo_id TEXT NOT NULL,
	minute INTEGER NOT NULL,
	good   INTEGER NOT NULL CHECK (good >= 0),
	total  INTEGER NOT NULL CHECK (total >= good),
	PRIMARY KEY (slo_id, minute)
) STRICT, WITHOUT ROWID;

-- The current figures of each configured SLO, rewritten by the engine after
-- each minute and each change. sli and budget_remaining are NULL while the
-- window has no events. Burn rates are a JSON list of
-- {"window_seconds": s, "rate": x, "events": n}.
CREATE TABLE slo_figures (
	slo_id           TEXT PRIMARY KEY,
	journey_id       TEXT NOT NULL,
	name             TEXT NOT NULL,
	position         INTEGER NOT NULL,
	objective        REAL NOT NULL,
	window_text      TEXT NOT NULL,
	window_start     INTEGER NOT NULL,
	window_end       INTEGER NOT NULL,
	good             INTEGER NOT NULL,
	total            INTEGER NOT NULL,
	sli              REAL,
	budget_seconds   REAL NOT NULL,
	budget_remaining REAL,
	burn             TEXT NOT NULL DEFAULT '[]',
	alert            TEXT NOT NULL DEFAULT '',
	alert_reason     TEXT NOT NULL DEFAULT '',
	stale            INTEGER NOT NULL DEFAULT 0,
	last_data_at     INTEGER,
	updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX slo_figures_journey ON slo_figures(journey_id, position);
