// Package notifier delivers what happens on the status page to subscribers.
//
// Engine consumes the store's typed events after the "notifier" cursor and,
// in the same transaction, plans a fan-out for each event someone must hear
// about (plan says who: subscribers of an affected component, its group or
// journey, or of everything; component changes per ChangePolicy). Fan-outs
// are expanded into one delivery per (event, subscriber), a page of
// subscribers per transaction, so memory does not grow with their number and
// a crash redoes at most a page, which the unique key makes harmless. A
// worker pool per channel (email, webhook) claims due deliveries under a
// lease, sends them, and records the outcome: sent, retried later
// (RetryPolicy: the Standard Webhooks schedule for webhooks, exponential
// backoff with full jitter for email), or dead with its reason. A circuit
// breaker per webhook host and per SMTP relay holds deliveries back, without
// spending attempts, while the host fails; a per-host limit keeps one slow
// host from taking every worker. Each delivery carries its key to the
// receiver (Message-ID, webhook-id), so a retry after a crash is recognisable.
//
// Email goes through an SMTP relay (SMTPMailer: STARTTLS or implicit TLS,
// authentication, reused connections, a concurrency limit) or, without one,
// into .eml files (EMLMailer). Webhooks are signed per Standard Webhooks and
// sent by WebhookSender, whose dialer refuses non-public addresses at every
// connection (Allowlist.Control) and whose URLs are checked at registration
// (Allowlist.ValidateURL).
//
// It does not serve HTTP (the subscribe flow and feeds are package
// server's) and does not own the tables it works on (package data does).
// notifiertest holds the in-process peers its tests talk to.
package notifier
