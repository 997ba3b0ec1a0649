// Package data owns statusd's domain: journeys, components and their status,
// incidents and scheduled maintenance with their updates, the status history
// that uptime bars are computed from, the audit log and the event outbox, and
// the admin's accounts, sessions, API tokens and sign-in attempts (secrets
// only as digests or password hashes, made by the caller).
//
// It validates every value that enters the domain (enums, state machines,
// lengths) and keeps it in SQLite through Store: WAL mode, one writer
// connection, a pool of readers, and forward-only embedded migrations. Every
// change is one transaction that writes the row, its audit entry and its event
// together, so a change is either fully recorded and announced or not at all.
//
// It does not own configuration files, rendering, HTTP or delivery: those
// belong to cmd/statusd, server and notifier, which build on this package.
package data
