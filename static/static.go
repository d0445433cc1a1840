// Package static holds Steward's CSS, icons and small script files, embedded
// into the binary. Pages link them through Path, which adds a content version
// so browsers may cache them for a year and still see every change.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
)

//go:embed *.css *.svg *.js
var FS embed.FS

// versions maps a file name to the first 12 hex digits of its SHA-256.
var versions = func() map[string]string {
	m := map[string]string{}
	fs.WalkDir(FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := FS.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[name] = hex.EncodeToString(sum[:6])
		return nil
	})
	return m
}()

// Version returns the content version of an embedded file, or "" if there is
// no such file.
func Version(name string) string { return versions[name] }

// Path returns the URL of an embedded file, versioned by its content.
func Path(name string) string { return "/static/" + name + "?v=" + versions[name] }
