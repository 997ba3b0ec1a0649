// Package demo is a fake shop for trying statusd's probes without a network:
// sign-in, search, a basket, card payments, a public API and partner
// webhooks, each switchable between healthy, failing and slow over a small
// control endpoint. `statusd demo-upstream` serves it, and `serve` can run it
// in-process (probing.demo_upstream) so the example configuration's probes
// have something to watch.
//
// It is a toy: no persistence, no security beyond loopback.
package demo
