package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/store"
)

// progressPrinter shows a run's progress: on a terminal a block of bars
// redrawn in place, elsewhere (CI, logs, pipes) a plain line every few seconds.
type progressPrinter struct {
	w        io.Writer
	terminal bool

	mu      gosync.Mutex
	drawn   int // lines drawn last time, to move the cursor back over them
	last    time.Time
	started time.Time
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	return &progressPrinter{w: w, terminal: isTerminal(w), started: time.Now()}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// observe is a sync.RunRequest.Observe callback.
func (p *progressPrinter) observe(resources map[string]store.ResourceStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := ordered(resources)
	if !p.terminal {
		if time.Since(p.last) < 5*time.Second {
			return
		}
		p.last = time.Now()
		var parts []string
		total := 0
		for _, n := range names {
			total += resources[n].Fetched
			parts = append(parts, fmt.Sprintf("%s %d", n, resources[n].Fetched))
		}
		fmt.Fprintf(p.w, "sync %s: %d objects (%s)\n", time.Since(p.started).Round(time.Second), total, strings.Join(parts, ", "))
		return
	}
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\033[%dA", p.drawn) // back to the top of the block
	}
	for _, n := range names {
		r := resources[n]
		fmt.Fprintf(p.w, "\033[2K  %-34s %-12s %s %9d\n", n, r.Status, spinner(r), r.Fetched)
	}
	p.drawn = len(names)
}

// spinner is a bar that moves while a collection is fetched and fills when done.
func spinner(r store.ResourceStatus) string {
	const width = 20
	if r.Status != "running" {
		return "[" + strings.Repeat("=", width) + "]"
	}
	pos := int(r.Fetched/500) % width
	return "[" + strings.Repeat(" ", pos) + "=" + strings.Repeat(" ", width-pos-1) + "]"
}

// ordered lists collections in snapshot order, unknown names last.
func ordered(resources map[string]store.ResourceStatus) []string {
	rank := map[string]int{}
	for i, c := range directory.AllCollections {
		rank[string(c)] = i + 1
	}
	names := make([]string, 0, len(resources))
	for n := range resources {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank[names[i]], rank[names[j]]
		if ri == 0 {
			ri = 1 << 30
		}
		if rj == 0 {
			rj = 1 << 30
		}
		return ri < rj || ri == rj && names[i] < names[j]
	})
	return names
}

// printRunSummary writes a run's outcome as a table.
func printRunSummary(w io.Writer, run store.SyncRun) {
	dur := ""
	if run.FinishedAt != nil {
		dur = run.FinishedAt.Sub(run.StartedAt).Round(time.Millisecond).String()
	}
	fmt.Fprintf(w, "\nsync run %d of tenant %s: %s (%s, %s)\n", run.ID, run.TenantID, run.Status, run.Mode, dur)
	fmt.Fprintf(w, "  %-34s %-13s %9s %8s %8s %8s %9s\n", "collection", "status", "fetched", "added", "changed", "deleted", "withheld")
	for _, n := range ordered(run.Resources) {
		r := run.Resources[n]
		fmt.Fprintf(w, "  %-34s %-13s %9d %8d %8d %8d %9d\n", n, r.Status, r.Fetched, r.Added, r.Changed, r.Deleted, r.Withheld)
		if r.Note != "" {
			fmt.Fprintf(w, "      %s\n", r.Note)
		}
	}
	if run.Error != "" {
		fmt.Fprintf(w, "  %s\n", run.Error)
	}
}
