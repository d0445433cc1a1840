package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-dev/steward/internal/snapshot"
)

// runGenerate runs `server generate args…` and returns the exit code and output.
func runGenerate(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"generate"}, args...), envOf(nil), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRun_generateWritesTheSameSnapshotTwice(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for _, dir := range []string{a, b} {
		code, out, errOut := runGenerate(t, "--profile", "demo", "--seed", "3", "--out", dir)
		if code != exitOK {
			t.Fatalf("generate into %s: exit %d\n%s", dir, code, errOut)
		}
		for _, want := range []string{"Fabrikam Industries", dir, "users.json", "powerplatform/connections.json", "generated in"} {
			if !strings.Contains(out, want) {
				t.Errorf("summary lacks %q:\n%s", want, out)
			}
		}
	}
	s, err := snapshot.Read(a)
	if err != nil {
		t.Fatalf("snapshot.Read: %v", err)
	}
	if got := s.Tenant.CapturedAt.Format("2006-01-02T15:04:05Z07:00"); got != "2026-11-01T00:00:00Z" {
		t.Errorf("capturedAt %s, want the fixed default 2026-11-01T00:00:00Z", got)
	}
	filepath.WalkDir(a, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(a, path)
		want, _ := os.ReadFile(path)
		got, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs between two runs with the same flags (err %v)", rel, err)
		}
		return nil
	})
}

func TestRun_generateOverwritesASnapshotButNothingElse(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runGenerate(t, "--out", dir, "--now", "2025-01-15"); code != exitOK {
		t.Fatalf("first generate: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := runGenerate(t, "--out", dir, "--seed", "2", "--hostile"); code != exitOK {
		t.Errorf("generate over a snapshot: exit %d\n%s", code, errOut)
	}

	notes := t.TempDir()
	keep := filepath.Join(notes, "notes.txt")
	if err := os.WriteFile(keep, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runGenerate(t, "--out", notes)
	if code != exitUsage {
		t.Errorf("generate into a folder of notes: exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(errOut, "not empty") || !strings.Contains(errOut, "tenant.json") {
		t.Errorf("message does not say why:\n%s", errOut)
	}
	if entries, _ := os.ReadDir(notes); len(entries) != 1 {
		t.Errorf("the folder now holds %d entries, want only notes.txt", len(entries))
	}
}

func TestRun_generateBadFlags(t *testing.T) {
	out := filepath.Join(t.TempDir(), "snap")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--profile", "demo"}, "-out is required"},
		{[]string{"--profile", "huge", "--out", out}, `-profile "huge"`},
		{[]string{"--now", "yesterday", "--out", out}, `-now "yesterday"`},
		{[]string{"--seed", "minus-one", "--out", out}, "invalid value"},
		{[]string{"--out", out, "extra"}, `unexpected argument "extra"`},
	} {
		code, _, errOut := runGenerate(t, tc.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, code, exitUsage)
		}
		if !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: stderr lacks %q:\n%s", tc.args, tc.want, errOut)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a rejected command line wrote a snapshot")
	}
}

func TestRun_generateIsListed(t *testing.T) {
	var out bytes.Buffer
	run(context.Background(), []string{"help"}, envOf(nil), &out, io.Discard)
	if !strings.Contains(out.String(), "generate") {
		t.Errorf("usage does not list generate:\n%s", out.String())
	}
}
