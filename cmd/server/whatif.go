package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/directory"
	"github.com/steward-dev/steward/internal/exposure"
	"github.com/steward-dev/steward/internal/snapshot"
)

// whatifCmd explains one account's exposure, from a snapshot directory (no
// database) or a tenant's stored data: readable text, or with -json the
// contract of EXPOSURE.md §9.
func whatifCmd(ctx context.Context, env *environment, args []string) error {
	fs, cfg := newCommandFlags("whatif", env.getenv, env.stderr, false)
	snapDir := fs.String("snapshot", "", "snapshot directory to evaluate (no database needed)")
	tenant := fs.String("tenant", "", "tenant id whose stored data to evaluate")
	account := fs.String("account", "", "the account: object id, userPrincipalName or (service principals) appId")
	app := fs.String("app", "", "explain only this resource appId (evaluated even if outside the catalog)")
	asJSON := fs.Bool("json", false, "print the whatif JSON contract (EXPOSURE.md §9)")
	at := fs.String("at", "", "evaluate as of this RFC 3339 time (default: the snapshot's capturedAt, else now)")
	if err := cfg.parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	case (*snapDir == "") == (*tenant == ""):
		return usageError{errors.New("give exactly one of -snapshot DIR or -tenant ID")}
	case *account == "":
		return usageError{errors.New("-account is required (object id, userPrincipalName or appId)")}
	case *app != "" && !directory.IsGUID(*app):
		return usageError{fmt.Errorf("-app %q is not an appId (a GUID)", *app)}
	}

	var snap *directory.Snapshot
	if *snapDir != "" {
		s, err := snapshot.Read(*snapDir)
		if err != nil {
			return usageError{fmt.Errorf("cannot read snapshot %s: %w", *snapDir, err)}
		}
		snap = s
	} else {
		db, err := openMigrated(ctx, *cfg, cfg.logger(env.stderr))
		if err != nil {
			return err
		}
		defer db.Close()
		s, err := db.LoadForEvaluation(ctx, *tenant)
		if derr.Code(err) == derr.ENOTFOUND {
			return usageError{errors.New(derr.Message(err))}
		}
		if err != nil {
			return err
		}
		snap = s
	}

	now := time.Now().UTC()
	if !snap.Tenant.CapturedAt.IsZero() {
		now = snap.Tenant.CapturedAt.UTC()
	}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return usageError{fmt.Errorf("-at %q is not an RFC 3339 time", *at)}
		}
		now = t
	}
	ev := exposure.Evaluate(snap, cfg.Exposure.evaluation(now))
	acct, err := ev.Explain(*account, *app)
	if err != nil {
		return usageError{errors.New(derr.Message(err))}
	}
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(acct.WhatIf())
	}
	for _, n := range ev.Notes {
		fmt.Fprintf(env.stdout, "note: %s\n", n)
	}
	return exposure.WriteText(env.stdout, acct)
}
