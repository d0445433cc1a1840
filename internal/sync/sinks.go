package sync

import (
	"context"
	gosync "sync"

	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/store"
)

// stages hands out one store.Stage per collection, created on first use, as
// the Sinks of a run.
type stages struct {
	ctx context.Context
	db  *store.DB
	run int64

	mu  gosync.Mutex
	all map[directory.Collection]*stageSink
	err error
}

func newStages(ctx context.Context, db *store.DB, run int64) *stages {
	return &stages{ctx: ctx, db: db, run: run, all: map[directory.Collection]*stageSink{}}
}

// Sink implements Sinks. If the staging table cannot be created, the sink
// returns that error on every call, which fails the source and the run.
func (s *stages) Sink(c directory.Collection) Sink {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sk, ok := s.all[c]; ok {
		return sk
	}
	st, err := s.db.NewStage(s.ctx, s.run, c)
	sk := &stageSink{ctx: s.ctx, st: st, err: err}
	s.all[c] = sk
	return sk
}

// flush copies every stage's buffered rows.
func (s *stages) flush() error {
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
