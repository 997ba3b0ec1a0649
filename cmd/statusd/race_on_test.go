//go:build race

package main

// raceEnabled reports whether the race detector is on; it slows every
// goroutine several times over.
const raceEnabled = true
