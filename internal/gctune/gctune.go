// Package gctune sets the Go garbage collector for a Steward process: the
// server and every command (cmd/server), and the page benchmark, which
// measures the server as it runs.
package gctune

import "runtime/debug"

// MemoryLimit is the soft memory limit unless GOMEMLIMIT sets one. An
// evaluation of a 100,000-user tenant keeps ~400 MB live, and the
// collector, left to its default of letting the heap double between
// collections, took the process to 0.8–1.1 GiB; near this limit it collects
// sooner instead. A soft limit: a larger tenant that needs more gets more
// (the collector then runs as often as its CPU cap allows).
const MemoryLimit = 800 << 20

// Percent is the collector's GOGC unless GOGC sets one. Serving pages, the
// live heap is a few megabytes, so at the default (100) the heap is
// collected every 4 MB allocated: about every ten pages of accounts. That
// was a quarter of the server's CPU and cost a third of the pages per
// second at 32 concurrent clients (docs/BENCHMARKS.md, "Page latency").
// The memory limit, not this, bounds a large evaluation's heap: the heap
// target is the lower of the two.
const Percent = 400

// Apply sets the memory limit and the collector's percentage, each unless
// its variable (GOMEMLIMIT, GOGC) is set in the environment.
func Apply(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(MemoryLimit)
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(Percent)
	}
}
