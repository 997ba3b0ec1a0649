// Package server is statusd's HTTP face: the public status page, the
// Statuspage-compatible JSON API, feeds, the embeds (widget script, framed
// status, SVG badges; embed.go, badge.go), health and metrics.
//
// Public documents are rendered once per change into an immutable snapshot
// (plain, gzip and brotli bytes with strong ETags and cache headers) that is
// swapped atomically; a request only picks and copies prebuilt bytes and never
// touches the store. If the store cannot be read, the last snapshot is kept
// and the page says how old its data is.
//
// It does not own the domain or storage (package data), configuration files
// and process lifecycle (cmd/statusd), or delivery to subscribers (notifier).
package server
