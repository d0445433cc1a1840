package sync

import (
	"context"
	gosync "sync"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/store"
)

// stages hands out one store.Stage per collection as the Sinks of a run.
// Every collection's staging table is created at once, in the background,
// while the sources send their first requests; a Sink waits for them.
type stages struct {
	ctx context.Context

	ready chan struct{} // closed once made and made or err are set
	made  map[directory.Collection]*store.Stage
	err   error

	mu  gosync.Mutex
	all map[directory.Collection]*stageSink
}

func newStages(ctx context.Context, db *store.DB, run int64) *stages {
	s := &stages{ctx: ctx, ready: make(chan struct{}), all: map[directory.Collection]*stageSink{}}
	go func() {
		defer close(s.ready)
		s.made, s.err = db.NewStages(ctx, run, directory.AllCollections)
	}()
	return s
}

// wait returns once the staging tables exist or could not be created.
func (s *stages) wait() error {
	<-s.ready
	return s.err
}

// Sink implements Sinks. If the staging tables cannot be created, the sink
// returns that error on every call, which fails the source and the run.
func (s *stages) Sink(c directory.Collection) Sink {
	err := s.wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if sk, ok := s.all[c]; ok {
		return sk
	}
	sk := &stageSink{ctx: s.ctx, st: s.made[c], err: err}
	s.all[c] = sk
	return sk
}

// flush copies every stage's buffered rows.
func (s *stages) flush() error {
	if err := s.wait(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sk := range s.all {
		if sk.err != nil {
			return sk.err
		}
		if err := sk.st.Flush(s.ctx); err != nil {
			return err
		}
	}
	return nil
}

// has reports whether a collection was staged.
func (s *stages) has(c directory.Collection) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.all[c]
	return ok
}

// stageSink adapts a store.Stage to the Sink interface.
type stageSink struct {
	ctx context.Context
	st  *store.Stage
	err error
}

func (s *stageSink) Put(o directory.Object) error {
	if s.err != nil {
		return s.err
	}
	return s.st.Put(s.ctx, o)
}

func (s *stageSink) Remove(key string) error {
	if s.err != nil {
		return s.err
	}
	return s.st.Remove(s.ctx, key)
}

func (s *stageSink) Scope(parent string) error {
	if s.err != nil {
		return s.err
	}
	return s.st.Scope(s.ctx, parent)
}
