// Package slo owns service level objectives: their definitions (availability
// or latency, an objective over a rolling or calendar-month window, burn-rate
// alert rules), the per-minute (good, total) buckets that feeds produce, the
// rolling sums over them, and what follows from those: the SLI, the error
// budget and the burn rates. Its Engine keeps each SLO's minutes in memory,
// persists them through the data package, writes the figures the public page
// shows, and sets the SLO's automatic input on its journey's components when
// the budget burns fast or slowly.
//
// Feeds: Prometheus (query_range with timeouts, retries and a breaker),
// pushed events (ParseEvents and Engine.Push, behind the admin API), and probe
// results through the MinuteSource interface.
//
// It does not own HTTP routes, rendering or notification: the server exposes
// the push API and shows the figures; the notifier reads the slo.burn events.
package slo
