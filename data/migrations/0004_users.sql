-- People and programs that use the admin UI and API, and the audit log's
-- before/after. Times are Unix milliseconds (UTC). No secret is stored in
-- the clear: passwords as argon2id hashes, session ids and API tokens as
-- SHA-256 digests of their random values.

CREATE TABLE users (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	email         TEXT NOT NULL UNIQUE, -- lower-cased by the store
	role          TEXT NOT NULL CHECK (role IN ('admin', 'comms', 'viewer')),
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	last_login_at INTEGER,
	disabled_at   INTEGER
) STRICT;

-- A signed-in browser. The cookie carries a random id; only its digest is
-- kept, so a copy of the database does not let anyone sign in.
CREATE TABLE sessions (
	id_hash      BLOB PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users(id),
	csrf_token   TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL, -- absolute: created_at + the absolute lifetime
	ip           TEXT NOT NULL DEFAULT '',
	user_agent   TEXT NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE api_tokens (
	id           TEXT PRIMARY KEY,
	token_hash   BLOB NOT NULL UNIQUE,
	name         TEXT NOT NULL,
	user_id      INTEGER NOT NULL REFERENCES users(id), -- who created it; it acts for them
	scopes       TEXT NOT NULL,                          -- space separated
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER,
	last_used_ip TEXT NOT NULL DEFAULT '',
	revoked_at   INTEGER
) STRICT;
CREATE INDEX api_tokens_user ON api_tokens(user_id);

-- Sign-in attempts, for throttling per account and per address. Unknown
-- accounts are counted too, so throttling tells nobody which accounts exist.
CREATE TABLE login_attempts (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	email      TEXT NOT NULL,
	ip         TEXT NOT NULL,
	ok         INTEGER NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX login_attempts_email ON login_attempts(email, created_at);
CREATE INDEX login_attempts_ip ON login_attempts(ip, created_at);
CREATE INDEX login_attempts_time ON login_attempts(created_at);

-- Responses to API creates made with an Idempotency-Key, per token. The body
-- is sealed with a key derived from the calling token, which the store never
-- holds, so a stored response (which may carry a new secret) is readable only
-- by the client that made the request.
CREATE TABLE idempotency_keys (
	token_id    TEXT NOT NULL REFERENCES api_tokens(id),
	key         TEXT NOT NULL,
	fingerprint BLOB NOT NULL, -- digest of method, path and body
	status      INTEGER NOT NULL,
	sealed      BLOB NOT NULL,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (token_id, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_keys_time ON idempotency_keys(created_at);

-- The audit log records what a change replaced and what it made, as JSON,
-- and stays append-only.
ALTER TABLE audit_log ADD COLUMN before TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN after TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_log_time ON audit_log(created_at);
CREATE INDEX audit_log_actor ON audit_log(actor, id);
CREATE INDEX audit_log_subject ON audit_log(subject, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only');
END;
