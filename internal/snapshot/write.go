package snapshot

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/steward-dev/steward/internal/directory"
)

// Write writes s into dir (created if needed) as SNAPSHOT.md describes: tenant.json
// and one file per captured collection. Output is deterministic: the same
// snapshot always gives the same bytes. Each file is written to a temporary
// name and renamed, so a reader never sees half a file.
func Write(dir string, s *directory.Snapshot) error {
	if err := os.MkdirAll(filepath.Join(dir, "powerplatform"), 0o755); err != nil {
		return err
	}
	tenant, err := json.MarshalIndent(s.Tenant, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, TenantFile), func(w *bufio.Writer) error {
		_, err := w.Write(append(tenant, '\n'))
		return err
	}); err != nil {
		return err
	}
	for _, f := range files {
		if !s.Captured[f.c] {
			continue
		}
		if err := writeFile(filepath.Join(dir, f.path), func(w *bufio.Writer) error {
			return writeCollection(w, s, f)
		}); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return nil
}

// writeCollection writes {"value":[ … ]} with one object per line, so large
// files stream and diff well.
func writeCollection(w *bufio.Writer, s *directory.Snapshot, f collectionFile) error {
	w.WriteString(`{"value":[`)
	first := true
	err := f.each(s, func(o directory.Object) error {
		b, err := Marshal(o)
		if err != nil {
			return err
		}
		if first {
			w.WriteString("\n")
			first = false
		} else {
			w.WriteString(",\n")
		}
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	_, err = w.WriteString("\n]}\n")
	return err
}

func writeFile(path string, fill func(w *bufio.Writer) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes 0600 files; a snapshot is meant to be shared (mounted
	// into a container, handed to an auditor), so give it ordinary permissions.
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	w := bufio.NewWriterSize(tmp, 256<<10)
	if err := fill(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
