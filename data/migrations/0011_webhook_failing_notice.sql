-- When a webhook endpoint's owner was warned that it keeps failing: once
-- per run of failures (cleared with failing_since by a success), before the
-- endpoint is disabled.
ALTER TABLE subscribers ADD COLUMN failing_warned_at INTEGER;
