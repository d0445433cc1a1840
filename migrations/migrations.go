// Package migrations holds Steward's schema as numbered SQL files, embedded into
// the binary so that a deployment is one file. internal/store applies them.
//
// Rules for a new migration: take the next number, never edit a file that has
// shipped, and keep each file one transaction's worth of DDL (no CREATE INDEX
// CONCURRENTLY, which cannot run inside a transaction).
package migrations

import "embed"

// FS holds every NNNN_name.sql file of this directory.
//
//go:embed *.sql
var FS embed.FS
