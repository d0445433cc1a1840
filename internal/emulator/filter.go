package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/directory"
)

// A small $filter language: comparisons (eq ne gt ge lt le) of a property path
// with a literal, lambda any() over a collection, and/or/not and parentheses.
// That covers what the sync sends; each resource then allows only the
// properties and operators Graph supports for it, and everything else is the
// 400 Graph answers.

// filterNode is a parsed $filter expression.
type filterNode interface {
	match(fields []field) bool
	check(allowed map[string]string) error
}

type andNode struct{ l, r filterNode }
type orNode struct{ l, r filterNode }
type notNode struct{ n filterNode }

// cmpNode compares a property with a literal.
type cmpNode struct {
	path string
	op   string
	lit  literal
}

// anyNode is path/any(v: v eq literal).
type anyNode struct {
	path string
	lit  literal
}

type litKind int

const (
	litString litKind = iota
	litNumber
	litBool
	litNull
	litTime
)

type literal struct {
	kind litKind
	s    string
	n    float64
	b    bool
	t    time.Time
}

// errUnsupported marks a filter that parses but that the resource does not
// support (Graph's Request_UnsupportedQuery), as opposed to a syntax error.
type errUnsupported struct{ msg string }

func (e errUnsupported) Error() string { return e.msg }

func (n andNode) match(f []field) bool { return n.l.match(f) && n.r.match(f) }
func (n orNode) match(f []field) bool  { return n.l.match(f) || n.r.match(f) }
func (n notNode) match(f []field) bool { return !n.n.match(f) }

func (n andNode) check(a map[string]string) error {
	if err := n.l.check(a); err != nil {
		return err
	}
	return n.r.check(a)
}
func (n orNode) check(a map[string]string) error {
	if err := n.l.check(a); err != nil {
		return err
	}
	return n.r.check(a)
}
func (n notNode) check(a map[string]string) error { return n.n.check(a) }

func (n cmpNode) check(a map[string]string) error {
	ops, ok := a[strings.ToLower(n.path)]
	if !ok {
		return errUnsupported{fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource.", n.path)}
	}
	if !strings.Contains(" "+ops+" ", " "+n.op+" ") {
		return errUnsupported{fmt.Sprintf("Unsupported filter operator '%s' for property '%s'.", n.op, n.path)}
	}
	return nil
}

func (n anyNode) check(a map[string]string) error {
	ops, ok := a[strings.ToLower(n.path)]
	if !ok || !strings.Contains(" "+ops+" ", " any ") {
		return errUnsupported{fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource.", n.path)}
	}
	return nil
}

func (n cmpNode) match(fields []field) bool {
	return compare(lookup(fields, n.path), n.op, n.lit)
}

func (n anyNode) match(fields []field) bool {
	raw := lookup(fields, n.path)
	if raw == nil {
		return false
	}
	elems, err := splitArray(raw)
	if err != nil {
		return false
	}
	for _, el := range elems {
		if compare(el, "eq", n.lit) {
			return true
		}
	}
	return false
}

// compare applies op to a raw JSON value and a literal, as OData does: null
// equals only null, strings compare case-insensitively for eq and ne.
func compare(raw []byte, op string, lit literal) bool {
	isNull := raw == nil || bytes.Equal(raw, []byte("null"))
	if isNull || lit.kind == litNull {
		both := isNull && lit.kind == litNull
		switch op {
		case "eq":
			return both
		case "ne":
			return !both
		}
		return false
	}
	var c int
	switch lit.kind {
	case litString, litTime:
		s, ok := rawString(raw)
		if !ok {
			return false
		}
		if lit.kind == litTime {
			t, err := directory.ParseTime(s)
			if err != nil {
				return false
			}
			c = t.Compare(lit.t)
			break
		}
		if op == "eq" || op == "ne" {
			eq := strings.EqualFold(s, lit.s)
			return eq == (op == "eq")
		}
		c = strings.Compare(strings.ToLower(s), strings.ToLower(lit.s))
	case litBool:
		b, err := strconv.ParseBool(string(raw))
		if err != nil {
			return false
		}
		if op != "eq" && op != "ne" {
			return false
		}
		return (b == lit.b) == (op == "eq")
	case litNumber:
		n, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return false
		}
		switch {
		case n < lit.n:
			c = -1
		case n > lit.n:
			c = 1
		}
	}
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}

// rawString decodes a JSON string value.
func rawString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// parseFilter parses a $filter expression.
func parseFilter(s string) (filterNode, error) {
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("syntax error at '%s'", p.toks[p.i].text)
	}
	return n, nil
}

type tokKind int

const (
	tokWord tokKind = iota
	tokString
	tokPunct
)

type token struct {
	kind tokKind
	text string
}

func lexFilter(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == ',' || c == ':':
			out = append(out, token{tokPunct, string(c)})
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated string literal")
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			out = append(out, token{tokString, b.String()})
			i = j + 1
		case c == '-' || ('0' <= c && c <= '9'):
			// Numbers and bare date-times (2024-01-01T00:00:00Z) run together.
			j := i + 1
			for j < len(s) && strings.IndexByte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:.+-", s[j]) >= 0 {
				j++
			}
			out = append(out, token{tokWord, s[i:j]})
			i = j
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\r\n(),':", s[j]) < 0 {
				j++
			}
			out = append(out, token{tokWord, s[i:j]})
			i = j
		}
	}
	return out, nil
}

type filterParser struct {
	toks []token
	i    int
}

func (p *filterParser) peekWord(w string) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind == tokWord && strings.EqualFold(p.toks[p.i].text, w)
}

func (p *filterParser) expect(kind tokKind, text string) error {
	if p.i >= len(p.toks) || p.toks[p.i].kind != kind || (text != "" && !strings.EqualFold(p.toks[p.i].text, text)) {
		if p.i >= len(p.toks) {
			return fmt.Errorf("expected '%s' at the end", text)
		}
		return fmt.Errorf("expected '%s' at '%s'", text, p.toks[p.i].text)
	}
	p.i++
	return nil
}

func (p *filterParser) or() (filterNode, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peekWord("or") {
		p.i++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *filterParser) and() (filterNode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peekWord("and") {
		p.i++
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *filterParser) unary() (filterNode, error) {
	if p.peekWord("not") {
		p.i++
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	}
	if p.i < len(p.toks) && p.toks[p.i].kind == tokPunct && p.toks[p.i].text == "(" {
		p.i++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tokPunct, ")"); err != nil {
			return nil, err
		}
		return n, nil
	}
	return p.predicate()
}

func (p *filterParser) predicate() (filterNode, error) {
	if p.i >= len(p.toks) || p.toks[p.i].kind != tokWord {
		return nil, fmt.Errorf("expected a property")
	}
	path := p.toks[p.i].text
	p.i++
	if base, ok := strings.CutSuffix(path, "/any"); ok {
		return p.lambda(base)
	}
	if p.i < len(p.toks) && p.toks[p.i].kind == tokPunct && p.toks[p.i].text == "(" {
		return nil, errUnsupported{fmt.Sprintf("Unsupported function '%s' in filter.", path)}
	}
	if p.i >= len(p.toks) || p.toks[p.i].kind != tokWord {
		return nil, fmt.Errorf("expected an operator after '%s'", path)
	}
	op := strings.ToLower(p.toks[p.i].text)
	p.i++
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le":
	case "in", "has":
		return nil, errUnsupported{fmt.Sprintf("Unsupported filter operator '%s'.", op)}
	default:
		return nil, fmt.Errorf("unknown operator '%s'", op)
	}
	lit, err := p.literal()
	if err != nil {
		return nil, err
	}
	return cmpNode{path: path, op: op, lit: lit}, nil
}

// lambda parses (v: v eq literal) after path/any.
func (p *filterParser) lambda(path string) (filterNode, error) {
	if err := p.expect(tokPunct, "("); err != nil {
		return nil, err
	}
	if p.i >= len(p.toks) || p.toks[p.i].kind != tokWord {
		return nil, fmt.Errorf("expected a lambda variable")
	}
	v := p.toks[p.i].text
	p.i++
	if err := p.expect(tokPunct, ":"); err != nil {
		return nil, err
	}
	if err := p.expect(tokWord, v); err != nil {
		return nil, err
	}
	if p.peekWord("eq") {
		p.i++
	} else {
		return nil, errUnsupported{"Only 'eq' is supported inside any()."}
	}
	lit, err := p.literal()
	if err != nil {
		return nil, err
	}
	if err := p.expect(tokPunct, ")"); err != nil {
		return nil, err
	}
	return anyNode{path: path, lit: lit}, nil
}

func (p *filterParser) literal() (literal, error) {
	if p.i >= len(p.toks) {
		return literal{}, fmt.Errorf("expected a value")
	}
	t := p.toks[p.i]
	p.i++
	if t.kind == tokString {
		return literal{kind: litString, s: t.text}, nil
	}
	if t.kind != tokWord {
		return literal{}, fmt.Errorf("expected a value at '%s'", t.text)
	}
	switch strings.ToLower(t.text) {
	case "true", "false":
		return literal{kind: litBool, b: strings.EqualFold(t.text, "true")}, nil
	case "null":
		return literal{kind: litNull}, nil
	}
	if len(t.text) > 1 && strings.ContainsAny(t.text[1:], "-T:") {
		v, err := directory.ParseTime(t.text)
		if err != nil || v.IsZero() {
			return literal{}, fmt.Errorf("bad date-time '%s'", t.text)
		}
		return literal{kind: litTime, t: v.Time}, nil
	}
	n, err := strconv.ParseFloat(t.text, 64)
	if err != nil {
		return literal{}, fmt.Errorf("bad value '%s'", t.text)
	}
	return literal{kind: litNumber, n: n}, nil
}
