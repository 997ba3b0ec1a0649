-- Staff alerts: an incident whose promised next update is overdue, a draft
-- proposed by detection that waits for a person. Each goes out once, keyed
-- by what it is about ("overdue:<incident>:<promised time>",
-- "draft:<draft id>"), in the same transaction as its event.
CREATE TABLE staff_alerts (
	key     TEXT PRIMARY KEY,
	sent_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
