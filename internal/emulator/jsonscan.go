package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// field is one top-level member of a JSON object: its name as written
// (without quotes, escapes left as they are) and its raw value, both sharing
// the object's bytes so that splitting allocates only the slice.
type field struct {
	name  []byte
	value []byte
}

var errBadJSON = errors.New("malformed JSON")

// splitObject returns the top-level members of a JSON object in order. It
// scans instead of decoding because it runs once per served object and the
// values are copied out verbatim, never interpreted.
func splitObject(b []byte) ([]field, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errBadJSON
	}
	i = skipSpace(b, i+1)
	var out []field
	if i < len(b) && b[i] == '}' {
		return out, nil
	}
	for i < len(b) {
		if b[i] != '"' {
			return nil, errBadJSON
		}
		end, err := skipString(b, i)
		if err != nil {
			return nil, err
		}
		name := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, errBadJSON
		}
		i = skipSpace(b, i+1)
		vend, err := skipValue(b, i)
		if err != nil {
			return nil, err
		}
		out = append(out, field{name: name, value: b[i:vend]})
		i = skipSpace(b, vend)
		if i >= len(b) {
			return nil, errBadJSON
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return out, nil
		default:
			return nil, errBadJSON
		}
	}
	return nil, errBadJSON
}

// splitArray returns the elements of a JSON array; null is an empty array.
func splitArray(b []byte) ([][]byte, error) {
	i := skipSpace(b, 0)
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil, nil
	}
	if i >= len(b) || b[i] != '[' {
		return nil, errBadJSON
	}
	i = skipSpace(b, i+1)
	var out [][]byte
	if i < len(b) && b[i] == ']' {
		return out, nil
	}
	for i < len(b) {
		end, err := skipValue(b, i)
		if err != nil {
			return nil, err
		}
		out = append(out, b[i:end])
		i = skipSpace(b, end)
		if i >= len(b) {
			return nil, errBadJSON
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return out, nil
		default:
			return nil, errBadJSON
		}
	}
	return nil, errBadJSON
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errBadJSON
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errBadJSON
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errBadJSON
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[j])) {
		j++
	}
	if j == i {
		return 0, errBadJSON
	}
	return j, nil
}

// lookup returns the raw value of a member of a JSON object, following a
// slash-separated path ("status/errorCode"), or nil when absent.
func lookup(fields []field, path string) []byte {
	name, rest, nested := strings.Cut(path, "/")
	for _, f := range fields {
		if !strings.EqualFold(string(f.name), name) {
			continue
		}
		if !nested {
			return f.value
		}
		inner, err := splitObject(f.value)
		if err != nil {
			return nil
		}
		return lookup(inner, rest)
	}
	return nil
}

// mergeJSON overlays the members of over onto base, both JSON objects: members
// of over replace those of base with the same name, in base's order; the rest
// of over follows. It is how a changed object keeps the unknown fields of its
// source JSON while serving its typed fields' new values.
func mergeJSON(base, over []byte) ([]byte, error) {
	if len(base) == 0 {
		return over, nil
	}
	bf, err := splitObject(base)
	if err != nil {
		return nil, err
	}
	of, err := splitObject(over)
	if err != nil {
		return nil, err
	}
	byName := make(map[string][]byte, len(of))
	for _, f := range of {
		byName[string(f.name)] = f.value
	}
	var out bytes.Buffer
	out.WriteByte('{')
	n := 0
	write := func(name, value []byte) {
		if n > 0 {
			out.WriteByte(',')
		}
		n++
		writeRawKey(&out, name)
		out.Write(value)
	}
	for _, f := range bf {
		if v, ok := byName[string(f.name)]; ok {
			write(f.name, v)
			delete(byName, string(f.name))
			continue
		}
		write(f.name, f.value)
	}
	for _, f := range of {
		if _, ok := byName[string(f.name)]; ok {
			write(f.name, f.value)
		}
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// writeRawKey writes `"name":` for a name exactly as it was written in JSON.
func writeRawKey(w *bytes.Buffer, name []byte) {
	w.WriteByte('"')
	w.Write(name)
	w.WriteString(`":`)
}

// writeKey writes `"name":`, escaping name when needed.
func writeKey(w *bytes.Buffer, name string) {
	if strings.ContainsAny(name, "\"\\") || hasControl(name) {
		b, _ := json.Marshal(name)
		w.Write(b)
	} else {
		w.WriteByte('"')
		w.WriteString(name)
		w.WriteByte('"')
	}
	w.WriteByte(':')
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 {
			return true
		}
	}
	return false
}

// jsonString returns s as a JSON string.
func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
