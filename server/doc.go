// Package server is statusd's HTTP face: the public status page, the
// Statuspage-compatible JSON API, feeds, the embeds (widget script, framed
// status, SVG badges; embed.go, badge.go), health and metrics, and the admin
// UI and API.
//
// Public documents, the feed of every journey and component included, are
// rendered once per change into an immutable snapshot (plain, gzip and
// brotli bytes with strong ETags and cache headers) that is swapped
// atomically; a request only picks and copies prebuilt bytes and never
// touches the store. A rebuild renders only what changed: documents and
// fragments are kept by a key of their inputs (memo.go). If the store cannot
// be read, the last snapshot is kept and the page says how old its data is.
//
// The snapshot holds recent incidents. The page of an older one is rendered
// from the store on its first request and kept in a bounded cache, and
// unknown ids are answered without the store (archive.go), so every link
// ever published keeps working while memory stays bounded.
//
// The admin UI (/admin/) and API (/api/admin/) are a fiber app of their own
// (admin*.go, auth*.go), reached through a path dispatcher on the same
// listener: sign-in with argon2id passwords and server-side sessions, CSRF
// tokens bound to the session, throttling, bearer tokens with scopes, and an
// OpenAPI document generated from the API's route table. Nothing of it runs
// on the public read path.
//
// It does not own the domain or storage (package data), configuration files
// and process lifecycle (cmd/statusd), or delivery to subscribers (notifier).
package server
