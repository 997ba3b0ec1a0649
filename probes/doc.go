// Package probes owns the signals that decide a component's status without a
// person: checkers (HTTP, multi-step journeys, TCP, DNS and TLS
// certificates), the scheduler that runs them on a fixed grid with hashed
// offsets, bounded concurrency and per-run timeouts, the engine that turns
// their results into each component's automatic status input (hysteresis,
// quorum across regions, share of probes down, latency), and the writer that
// stores every result in batches with per-minute and per-day aggregates.
// Service wires them together as one subsystem of serve.
//
// It writes through the data package (status inputs, results) and never
// renders or notifies; maintenance and overrides outrank what it says in
// data.Resolve. Its sub-package demo is a fake shop to probe without a
// network; slo (to come) owns SLI buckets, error budgets and burn rates.
package probes
