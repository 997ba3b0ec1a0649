// Package notifier owns delivery to subscribers: it expands outbox events
// (written by package data in the same transaction as each change) into one
// delivery per event and subscriber, and sends them by email and signed
// webhook with timeouts, retries with backoff and jitter, a breaker per
// endpoint, an SSRF-safe dialer and a dead-letter table.
//
// It reads and updates deliveries through the data package and renders
// messages from package templates; it never serves HTTP. RSS and Atom feeds
// are not deliveries: package server renders them from the snapshot.
package notifier
