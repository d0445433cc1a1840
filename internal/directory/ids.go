package directory

import (
	"encoding/json"
	"strings"
)

// ID normalises an object id for comparison: GUIDs are lower-cased (Graph
// treats them case-insensitively), anything else — keywords such as "All",
// role assignment ids that are case-sensitive base64 — is only trimmed.
func ID(s string) string {
	s = strings.TrimSpace(s)
	if IsGUID(s) {
		return strings.ToLower(s)
	}
	return s
}

// IDs normalises a list of ids in place and returns it.
func IDs(ss []string) []string {
	for i, s := range ss {
		ss[i] = ID(s)
	}
	return ss
}

// IsGUID reports whether s has the 8-4-4-4-12 hex shape of a GUID.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// SameID compares two ids the way Graph does: GUIDs case-insensitively.
func SameID(a, b string) bool { return ID(a) == ID(b) }

// CommaList is a list that Graph writes as one comma-joined string (such as
// guestOrExternalUserTypes); it also accepts a JSON array, as some exports write it.
type CommaList []string

// MarshalJSON writes the comma-joined form, as Graph does.
func (l CommaList) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.Join(l, ","))
}

// UnmarshalJSON accepts "a,b", ["a","b"] and null.
func (l *CommaList) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*l = nil
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var ss []string
		if err := json.Unmarshal(b, &ss); err != nil {
			return err
		}
		*l = ss
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*l = nil
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}
