package snapshot

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/steward-dev/steward/internal/directory"
)

// Error is a problem with one snapshot file. Offset is the byte offset in the
// file where the problem was found (-1 when it concerns the whole file).
type Error struct {
	File   string
	Offset int64
	Msg    string

	// syntax marks a malformed-JSON error found while streaming, whose offset
	// Read then makes exact by scanning the whole file once (errors only).
	syntax bool
}

func (e *Error) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s: byte %d: %s", e.File, e.Offset, e.Msg)
}

// Read reads the snapshot in dir. Only tenant.json is required; a collection
// whose file is missing is not captured. Any malformed file fails the whole
// read with an *Error naming the file and the byte offset.
func Read(dir string) (*directory.Snapshot, error) {
	return ReadFS(os.DirFS(dir))
}

// ReadFS reads a snapshot from a file system rooted at the snapshot directory.
func ReadFS(fsys fs.FS) (*directory.Snapshot, error) {
	s := &directory.Snapshot{Captured: map[directory.Collection]bool{}}
	if err := readTenant(fsys, s); err != nil {
		return nil, err
	}
	for _, f := range files {
		captured, err := readCollection(fsys, s, f)
		if err != nil {
			return nil, err
		}
		if captured {
			s.Captured[f.c] = true
		}
	}
	return s, nil
}

func readTenant(fsys fs.FS, s *directory.Snapshot) error {
	b, err := fs.ReadFile(fsys, TenantFile)
	if errors.Is(err, fs.ErrNotExist) {
		return &Error{File: TenantFile, Offset: -1, Msg: "missing: every snapshot needs tenant.json with the tenant's id"}
	}
	if err != nil {
		return &Error{File: TenantFile, Offset: -1, Msg: err.Error()}
	}
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&s.Tenant); err != nil {
		return fileError(TenantFile, err, 0)
	}
	if err := expectEOF(d); err != nil {
		return fileError(TenantFile, err, d.InputOffset())
	}
	s.Tenant.ID = directory.ID(s.Tenant.ID)
	if s.Tenant.ID == "" {
		return &Error{File: TenantFile, Offset: -1, Msg: `has no "id": the tenant's GUID is required`}
	}
	return nil
}

// readCollection reads one collection's file (and, for CA policies, the
// one-policy-per-file folder). It reports whether anything was found.
func readCollection(fsys fs.FS, s *directory.Snapshot, f collectionFile) (bool, error) {
	seen := map[string]string{} // key → where first seen
	captured := false
	r, err := fsys.Open(f.path)
	switch {
	case err == nil:
		captured = true
		err = (&fileReader{name: f.path, s: s, f: f, seen: seen}).stream(r)
		r.Close()
		if err != nil {
			return false, exactSyntaxOffset(fsys, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return false, &Error{File: f.path, Offset: -1, Msg: err.Error()}
	}
	if f.c != directory.ConditionalAccessPolicies {
		return captured, nil
	}
	names, err := fs.Glob(fsys, policyDir+"/*.json")
	if err != nil {
		return false, err
	}
	sort.Strings(names)
	for _, name := range names {
		captured = true
		// Policy files are small: read each whole, then accept a single
		// policy as well as a collection or an array.
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return false, &Error{File: name, Offset: -1, Msg: err.Error()}
		}
		fr := &fileReader{name: name, s: s, f: f, seen: seen}
		if singleObject(b) {
			err = fr.add(bytes.TrimSpace(b), int64(len(b)-len(bytes.TrimLeft(b, " \t\r\n"))))
		} else {
			err = fr.stream(bytes.NewReader(b))
		}
		if err != nil {
			return false, exactSyntaxOffset(fsys, err)
		}
	}
	return captured, nil
}

// singleObject reports whether b is one well-formed JSON object without a
// "value" member, i.e. a single policy rather than a collection.
func singleObject(b []byte) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(b, &probe) != nil {
		return false
	}
	for k := range probe {
		if strings.EqualFold(k, "value") {
			return false
		}
	}
	return true
}

// fileReader decodes the objects of one file into a snapshot.
type fileReader struct {
	name string
	s    *directory.Snapshot
	f    collectionFile
	seen map[string]string
	n    int // objects read so far
}

// add decodes one object found at byte offset start.
func (fr *fileReader) add(raw json.RawMessage, start int64) error {
	fr.n++
	if len(raw) == 0 || raw[0] != '{' {
		return &Error{File: fr.name, Offset: start, Msg: fmt.Sprintf("object #%d is not a JSON object", fr.n)}
	}
	key, err := fr.f.add(fr.s, raw)
	if err != nil {
		var fe *directory.FieldError
		if errors.As(err, &fe) {
			return &Error{File: fr.name, Offset: start + fe.Offset, Msg: fmt.Sprintf("object #%d: %s", fr.n, fe.Msg)}
		}
		return fileError(fr.name, err, start)
	}
	if key == "" || strings.HasSuffix(key, "/") || strings.HasPrefix(key, "/") {
		return &Error{File: fr.name, Offset: start, Msg: fmt.Sprintf("object #%d has no id", fr.n)}
	}
	if first, dup := fr.seen[key]; dup {
		return &Error{File: fr.name, Offset: start, Msg: fmt.Sprintf("object #%d repeats id %s (first seen %s)", fr.n, key, first)}
	}
	fr.seen[key] = fmt.Sprintf("in %s as object #%d", fr.name, fr.n)
	return nil
}

// stream decodes a file object by object. It accepts a Graph collection
// ({"value": [...]}, other members such as @odata.context ignored) or a bare array.
func (fr *fileReader) stream(r io.Reader) error {
	name := fr.name
	d := json.NewDecoder(bufio.NewReaderSize(r, 256<<10))
	tok, err := d.Token()
	if err == io.EOF {
		return &Error{File: name, Offset: 0, Msg: `empty file: want {"value": [...]}`}
	}
	if err != nil {
		return fileError(name, err, d.InputOffset())
	}
	readArray := func() error {
		for d.More() {
			var raw json.RawMessage
			if err := d.Decode(&raw); err != nil {
				return fileError(name, err, d.InputOffset())
			}
			if err := fr.add(raw, d.InputOffset()-int64(len(raw))); err != nil {
				return err
			}
		}
		if _, err := d.Token(); err != nil { // the closing ]
			return fileError(name, err, d.InputOffset())
		}
		return nil
	}

	switch tok {
	case json.Delim('['):
		if err := readArray(); err != nil {
			return err
		}
	case json.Delim('{'):
		foundValue := false
		for d.More() {
			keyTok, err := d.Token()
			if err != nil {
				return fileError(name, err, d.InputOffset())
			}
			if key, _ := keyTok.(string); !strings.EqualFold(key, "value") {
				var skip json.RawMessage
				if err := d.Decode(&skip); err != nil {
					return fileError(name, err, d.InputOffset())
				}
				continue
			}
			foundValue = true
			tok, err := d.Token()
			if err != nil {
				return fileError(name, err, d.InputOffset())
			}
			if tok == nil {
				continue // "value": null, an empty collection
			}
			if tok != json.Delim('[') {
				return &Error{File: name, Offset: d.InputOffset(), Msg: `"value" must be an array`}
			}
			if err := readArray(); err != nil {
				return err
			}
		}
		if _, err := d.Token(); err != nil { // the closing }
			return fileError(name, err, d.InputOffset())
		}
		if !foundValue {
			return &Error{File: name, Offset: 0, Msg: `no "value" array: want {"value": [...]}`}
		}
	default:
		return &Error{File: name, Offset: 0, Msg: `want {"value": [...]} or a JSON array`}
	}
	if err := expectEOF(d); err != nil {
		return fileError(name, err, d.InputOffset())
	}
	return nil
}

func expectEOF(d *json.Decoder) error {
	if _, err := d.Token(); err != io.EOF {
		if err == nil {
			return errors.New("unexpected data after the JSON value")
		}
		return err
	}
	return nil
}

// fileError wraps a decoding error with the file name and the offset where
// it was found. Malformed JSON is marked so that exactSyntaxOffset can locate it.
func fileError(name string, err error, offset int64) error {
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{File: name, Offset: offset, Msg: "malformed JSON: " + err.Error(), syntax: true}
	}
	return &Error{File: name, Offset: offset, Msg: err.Error()}
}

// exactSyntaxOffset replaces the approximate offset of a malformed-JSON error
// (a streaming decoder reports offsets relative to the value it was reading)
// with the exact one, by validating the whole file once. Only failures pay.
func exactSyntaxOffset(fsys fs.FS, err error) error {
	var e *Error
	if !errors.As(err, &e) || !e.syntax {
		return err
	}
	b, rerr := fs.ReadFile(fsys, e.File)
	if rerr != nil {
		return err
	}
	var v json.RawMessage
	uerr := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if !errors.As(uerr, &se) {
		return err
	}
	if strings.Contains(se.Error(), "unexpected end") {
		return &Error{File: e.File, Offset: int64(len(b)), Msg: "malformed JSON: the file ends in the middle of a value"}
	}
	// SyntaxError.Offset counts the offending byte itself: point at it.
	return &Error{File: e.File, Offset: se.Offset - 1, Msg: "malformed JSON: " + se.Error()}
}

// Exists reports whether dir looks like a snapshot (has tenant.json).
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, TenantFile))
	return err == nil
}
