package emulator

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Latency is the time a response takes: Base plus PerObject for every object
// it carries.
type Latency struct {
	Base      time.Duration
	PerObject time.Duration
}

// Enabled reports whether the latency model delays anything.
func (l Latency) Enabled() bool { return l.Base > 0 || l.PerObject > 0 }

// For returns the latency of a response carrying n objects.
func (l Latency) For(n int) time.Duration { return l.Base + time.Duration(n)*l.PerObject }

// String writes the latency as ParseLatency reads it.
func (l Latency) String() string { return l.Base.String() + "," + l.PerObject.String() }

// ParseLatency reads "BASE,PEROBJECT" such as "40ms,50us"; "BASE" alone means
// no per-object cost.
func ParseLatency(s string) (Latency, error) {
	base, per, _ := strings.Cut(strings.TrimSpace(s), ",")
	var l Latency
	var err error
	if l.Base, err = time.ParseDuration(strings.TrimSpace(base)); err != nil {
		return Latency{}, fmt.Errorf("latency %q: want BASE,PEROBJECT such as 40ms,50us: %w", s, err)
	}
	if per = strings.TrimSpace(per); per != "" {
		if l.PerObject, err = time.ParseDuration(per); err != nil {
			return Latency{}, fmt.Errorf("latency %q: want BASE,PEROBJECT such as 40ms,50us: %w", s, err)
		}
	}
	if l.Base < 0 || l.PerObject < 0 {
		return Latency{}, fmt.Errorf("latency %q: durations must not be negative", s)
	}
	return l, nil
}

// delay sleeps for the latency model, or until the client goes away.
func (e *Emulator) delay(ctx context.Context, objects int) {
	l := e.settings.Load().latency
	if !l.Enabled() {
		return
	}
	t := time.NewTimer(l.For(objects))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
