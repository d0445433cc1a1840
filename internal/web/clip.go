package web

import (
	"strings"
	"unicode/utf8"
)

// clip cuts s to n characters (runes), marking the cut with "…": pages show
// names and messages of any length, and display names of 4 KB exist. Most
// strings are short, and come back uncopied.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:n])) + "…"
}
