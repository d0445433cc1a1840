package sync

import (
	"context"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/snapshot"
)

// SnapshotSource imports a snapshot (server import DIR) through the same
// staging and apply path as a live sync. Every captured collection is a
// complete listing (but sign-ins, an event log that only grows); a collection
// the snapshot did not capture is left as it is.
type SnapshotSource struct {
	Snapshot *directory.Snapshot
}

// Name implements Source.
func (s SnapshotSource) Name() string { return "snapshot" }

// Fetch implements Source.
func (s SnapshotSource) Fetch(ctx context.Context, req Request, sinks Sinks) ([]Outcome, error) {
	progress := req.Progress
	if progress == nil {
		progress = noProgress{}
	}
	var out []Outcome
	for _, c := range directory.AllCollections {
		if !s.Snapshot.Captured[c] {
			out = append(out, Outcome{Collection: c, NotCaptured: true, Reason: "not in the snapshot"})
			continue
		}
		sink := sinks.Sink(c)
		n := 0
		err := snapshot.Each(s.Snapshot, c, func(o directory.Object) error {
			if n%1000 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			n++
			progress.Fetched(c, 1)
			return sink.Put(o)
		})
		if err != nil {
			return nil, err
		}
		// Sign-ins are events: a snapshot holds a window of them, and older
		// events missing from it are not deleted.
		out = append(out, Outcome{Collection: c, Complete: c != directory.SignIns})
	}
	return out, nil
}
