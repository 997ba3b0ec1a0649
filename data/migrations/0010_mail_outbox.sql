-- Transactional mail (subscription confirmation links, "already
-- subscribed" notes) waiting to be sent. A row is written before the
-- request is answered and deleted once the mail is sent, so a restart or an
-- SMTP outage delays the mail but does not lose it. body is the message as
-- JSON, link included; a row that runs out of retries keeps its error and
-- loses its body.
CREATE TABLE mail_outbox (
	id              INTEGER PRIMARY KEY,
	to_addr         TEXT NOT NULL,
	body            TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL, -- also the lease: a claimed row is due again when its lease ends
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	dead_at         INTEGER
) STRICT;
CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_at) WHERE dead_at IS NULL;
