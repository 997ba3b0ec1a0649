// Package probes owns the signals that decide a component's status without a
// person: checkers (HTTP, TCP, DNS, TLS and multi-step journeys), the
// scheduler that runs them with timeouts and jitter, and the status engine
// that turns their results into component status changes (hysteresis,
// quorum across regions, maintenance windows). Its sub-package slo owns SLI
// buckets, error budgets and burn rates.
//
// It writes status through the data package and never renders or notifies.
// The configuration already declares probes (see config.example.yaml) and
// validates them; this package is where they will run.
package probes
