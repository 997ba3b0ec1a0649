-- Synthetic probe results and their aggregates. Times are Unix milliseconds
-- (UTC); durations are microseconds.
--
-- No foreign keys to components: a component removed from the configuration
-- is archived, not deleted, and its measurements stay until pruned; skipping
-- the check also keeps the hot insert path to one index.

-- Every run, kept for probes_retention days. Pruned oldest rowid first, which
-- is oldest time first, so pruning needs no index on at.
CREATE TABLE probe_results (
	probe_id     TEXT NOT NULL,
	component_id TEXT NOT NULL,
	region       TEXT NOT NULL,
	at           INTEGER NOT NULL,
	duration_us  INTEGER NOT NULL,
	outcome      TEXT NOT NULL CHECK (outcome IN ('up', 'degraded', 'down')),
	maintenance  INTEGER NOT NULL DEFAULT 0,
	reason       TEXT NOT NULL DEFAULT '',
	step         TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX probe_results_probe ON probe_results(probe_id, at);

-- Per probe, region and minute (start of the minute). total, good, degraded
-- and down leave out runs during maintenance, which are counted apart; good
-- is up or degraded. hist is a latency histogram of the good runs (see
-- data.LatencyHistogram), from which p50/p95/p99 are computed on write.
CREATE TABLE probe_minutes (
	probe_id       TEXT NOT NULL,
	region         TEXT NOT NULL,
	minute         INTEGER NOT NULL,
	component_id   TEXT NOT NULL,
	total          INTEGER NOT NULL,
	good           INTEGER NOT NULL,
	degraded       INTEGER NOT NULL,
	down           INTEGER NOT NULL,
	maintenance    INTEGER NOT NULL,
	p50_us         INTEGER NOT NULL,
	p95_us         INTEGER NOT NULL,
	p99_us         INTEGER NOT NULL,
	hist           BLOB NOT NULL,
	PRIMARY KEY (probe_id, region, minute)
) STRICT, WITHOUT ROWID;
CREATE INDEX probe_minutes_component ON probe_minutes(component_id, minute);
CREATE INDEX probe_minutes_time ON probe_minutes(minute);

-- The same per day; day is the start of the day in the page's time zone.
CREATE TABLE probe_days (
	probe_id       TEXT NOT NULL,
	region         TEXT NOT NULL,
	day            INTEGER NOT NULL,
	component_id   TEXT NOT NULL,
	total          INTEGER NOT NULL,
	good           INTEGER NOT NULL,
	degraded       INTEGER NOT NULL,
	down           INTEGER NOT NULL,
	maintenance    INTEGER NOT NULL,
	p50_us         INTEGER NOT NULL,
	p95_us         INTEGER NOT NULL,
	p99_us         INTEGER NOT NULL,
	hist           BLOB NOT NULL,
	PRIMARY KEY (probe_id, region, day)
) STRICT, WITHOUT ROWID;
CREATE INDEX probe_days_component ON probe_days(component_id, day);
CREATE INDEX probe_days_time ON probe_days(day);
