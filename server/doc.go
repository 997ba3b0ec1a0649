// Package server is statusd's HTTP face: the public status page, the
// Statuspage-compatible JSON API, feeds, health and metrics, and the admin UI
// and API.
//
// Public documents are rendered once per change into an immutable snapshot
// (plain, gzip and brotli bytes with strong ETags and cache headers) that is
// swapped atomically; a request only picks and copies prebuilt bytes and never
// touches the store. If the store cannot be read, the last snapshot is kept
// and the page says how old its data is.
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
