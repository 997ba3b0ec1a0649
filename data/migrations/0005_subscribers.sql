-- Subscribers, the fan-out of events to them, and deliveries.
-- Times are Unix milliseconds (UTC).

-- An email address or a webhook endpoint (with its owner's address).
-- address is what makes a subscription unique: the normalised email address,
-- or the normalised webhook URL.
CREATE TABLE subscribers (
	id                 INTEGER PRIMARY KEY AUTOINCREMENT,
	channel            TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
	address            TEXT NOT NULL,
	email              TEXT NOT NULL,
	format             TEXT NOT NULL DEFAULT '',
	staff              INTEGER NOT NULL DEFAULT 0,
	-- Opens the preferences page and unsubscribes; sent in every message.
	manage_token       TEXT NOT NULL UNIQUE,
	-- SHA-256 of the single-use confirmation token; NULL once used.
	confirm_hash       TEXT UNIQUE,
	confirm_expires_at INTEGER,
	secret             TEXT NOT NULL DEFAULT '',
	prev_secret        TEXT NOT NULL DEFAULT '',
	prev_secret_until  INTEGER,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL,
	confirmed_at       INTEGER,
	disabled_at        INTEGER,
	failing_since      INTEGER,
	UNIQUE (channel, address)
) STRICT;
CREATE INDEX subscribers_email ON subscribers(email);

-- What a subscriber hears about: no rows means everything. A component row
-- may name a group (covering its children, present and future); a journey
-- row covers the journey's components, present and future.
CREATE TABLE subscriber_scopes (
	subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
	kind          TEXT NOT NULL CHECK (kind IN ('component', 'journey')),
	ref_id        TEXT NOT NULL,
	PRIMARY KEY (subscriber_id, kind, ref_id)
) STRICT, WITHOUT ROWID;

-- One row per event that subscribers must hear about, created in the same
-- transaction that advances the notifier's event cursor. Expansion walks the
-- subscribers in id order, a page per transaction, and records how far it
-- got in after_subscriber; deliveries are unique per (event, subscriber), so
-- a page redone after a crash inserts nothing twice.
CREATE TABLE fanouts (
	event_id         INTEGER PRIMARY KEY,
	audience         TEXT NOT NULL CHECK (audience IN ('scoped', 'everyone', 'staff')),
	email            INTEGER NOT NULL,
	webhook          INTEGER NOT NULL,
	event_at         INTEGER NOT NULL,
	after_subscriber INTEGER NOT NULL DEFAULT 0,
	created_at       INTEGER NOT NULL,
	done_at          INTEGER
) STRICT;
CREATE INDEX fanouts_open ON fanouts(event_id) WHERE done_at IS NULL;

-- The components an event affects, with their groups and journeys, resolved
-- when the fan-out is planned: a subscriber hears about the event if one of
-- its scopes matches one of these.
CREATE TABLE fanout_targets (
	event_id INTEGER NOT NULL REFERENCES fanouts(event_id) ON DELETE CASCADE,
	kind     TEXT NOT NULL,
	ref_id   TEXT NOT NULL,
	PRIMARY KEY (event_id, kind, ref_id)
) STRICT, WITHOUT ROWID;

-- One message to one subscriber. Event deliveries are unique per (event,
-- subscriber); notices (event_id NULL) are about the subscription itself.
CREATE TABLE deliveries (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id        INTEGER,
	notice          TEXT NOT NULL DEFAULT '',
	notice_detail   TEXT NOT NULL DEFAULT '',
	subscriber_id   INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
	channel         TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
	state           TEXT NOT NULL DEFAULT 'pending'
	                CHECK (state IN ('pending', 'leased', 'retrying', 'sent', 'dead')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	lease_until     INTEGER,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	event_at        INTEGER NOT NULL,
	sent_at         INTEGER,
	UNIQUE (event_id, subscriber_id)
) STRICT;
-- The work queue: what is due, per channel. A lease sets next_attempt_at to
-- its expiry, so a crashed worker's deliveries come due again by themselves.
-- id makes every key unique and orders the thousands of deliveries of one
-- fan-out page, which share next_attempt_at.
CREATE INDEX deliveries_due ON deliveries(channel, next_attempt_at, id)
	WHERE state IN ('pending', 'retrying', 'leased');
CREATE INDEX deliveries_subscriber ON deliveries(subscriber_id);

