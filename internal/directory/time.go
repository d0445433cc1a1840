package directory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Time is a timestamp as Graph and its exports write it. The zero Time means
// missing (null or absent). Besides RFC 3339 it accepts a timestamp without a
// zone (taken as UTC) and PowerShell 5's "/Date(ms)/".
type Time struct{ time.Time }

// NewTime returns t as a Time in UTC.
func NewTime(t time.Time) Time { return Time{t.UTC()} }

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.9999999",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02",
	"1/2/2006 3:04:05 PM", // PowerShell's default ToString in en-US exports
}

// UnmarshalJSON accepts null, "", RFC 3339 and the forms listed on Time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*t = Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp must be a string: %w", err)
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ParseTime parses the timestamp forms Time accepts.
func ParseTime(s string) (Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Time{}, nil
	}
	if strings.HasPrefix(s, "/Date(") && strings.HasSuffix(s, ")/") {
		inner := strings.TrimSuffix(strings.TrimPrefix(s, "/Date("), ")/")
		// "/Date(1700000000000+0100)/": the offset is informative only, ms are UTC.
		if i := strings.IndexAny(inner[1:], "+-"); i >= 0 {
			inner = inner[:i+1]
		}
		ms, err := strconv.ParseInt(inner, 10, 64)
		if err != nil {
			return Time{}, fmt.Errorf("bad timestamp %q", s)
		}
		return Time{time.UnixMilli(ms).UTC()}, nil
	}
	for _, layout := range timeLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			return Time{v.UTC()}, nil
		}
	}
	return Time{}, fmt.Errorf("bad timestamp %q", s)
}

// MarshalJSON writes RFC 3339 in UTC, or null for the zero Time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

// Ptr returns a pointer to the time, or nil when it is missing: handy for
// database columns that are NULL when unknown.
func (t Time) Ptr() *time.Time {
	if t.IsZero() {
		return nil
	}
	v := t.Time
	return &v
}
