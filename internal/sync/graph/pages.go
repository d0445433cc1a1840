package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/steward-dev/steward/internal/directory"
	stsync "github.com/steward-dev/steward/internal/sync"
)

// Raw pages. The SDK builds every request (RequestInformation from its
// request builders) and sends it through its pipeline (auth, retry,
// middleware), but its model parsing is not used: it is several times slower
// and allocates several times more than encoding/json (docs/BENCHMARKS.md),
// and Steward stores each object's JSON as Graph sent it anyway. Pages come
// back as bytes from SendPrimitive("[]byte") and are decoded here.

// absRequest is the SDK's request description, which every request is built as.
type absRequest = abs.RequestInformation

// page is one page of a Graph collection or delta query.
type page struct {
	Value     []json.RawMessage `json:"value"`
	NextLink  string            `json:"@odata.nextLink"`
	DeltaLink string            `json:"@odata.deltaLink"`
}

// describe names a request for errors and logs.
func describe(info *abs.RequestInformation) string {
	u, err := info.GetUri()
	if err != nil {
		return info.Method.String() + " " + info.UrlTemplate
	}
	return describeURL(info.Method.String(), u)
}

// send sends one request through the SDK's pipeline and returns the body.
// c is what each attempt costs under the source's budgets.
func (r *run) send(ctx context.Context, coll directory.Collection, info *abs.RequestInformation, c cost) ([]byte, string, error) {
	desc := describe(info)
	res, err := r.s.adapter.SendPrimitive(withMeta(ctx, meta{coll: coll, cost: c, progress: r.progress}), info, "[]byte", errorMapping)
	if err != nil {
		return nil, desc, requestError(coll, desc, err)
	}
	body, _ := res.([]byte)
	return body, desc, nil
}

// getPage sends a request and decodes the collection page it answers.
func (r *run) getPage(ctx context.Context, coll directory.Collection, info *abs.RequestInformation, c cost) (page, string, error) {
	body, desc, err := r.send(ctx, coll, info, c)
	if err != nil {
		return page{}, desc, err
	}
	p, err := decodePage(body)
	if err != nil {
		return page{}, desc, &RequestError{Collection: coll, Request: desc, Message: err.Error(), Err: err}
	}
	return p, desc, nil
}

func decodePage(body []byte) (page, error) {
	var p page
	if len(bytes.TrimSpace(body)) == 0 {
		return p, errors.New("empty answer where a page was expected")
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return p, fmt.Errorf("malformed page: %w", err)
	}
	return p, nil
}

// walk lists from a first request, following next links one after another
// (each needs the previous), and hands each page's items to fn. It returns
// the last page's delta link, for delta queries.
//
// The next page is requested as soon as its link is known, while fn works
// through the current one: a delta round of 3,000 groups spent as long in fn
// as waiting for Graph. At most one request is ahead; if fn fails, it is
// cancelled.
func (r *run) walk(ctx context.Context, coll directory.Collection, first *abs.RequestInformation, c cost,
	fn func(items []json.RawMessage, desc string) error) (string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		p    page
		desc string
		err  error
	}
	request := func(info *abs.RequestInformation) <-chan answer {
		ch := make(chan answer, 1) // never blocks: an abandoned request ends on its own
		go func() {
			p, desc, err := r.getPage(ctx, coll, info, c)
			ch <- answer{p, desc, err}
		}()
		return ch
	}
	pending := request(first)
	for {
		a := <-pending
		if a.err != nil {
			return "", a.err
		}
		if a.p.NextLink == "" {
			if err := fn(a.p.Value, a.desc); err != nil {
				return "", err
			}
			return a.p.DeltaLink, nil
		}
		info, err := linkRequest(a.p.NextLink)
		if err != nil {
			return "", &RequestError{Collection: coll, Request: a.desc, Message: "bad next link: " + err.Error(), Err: err}
		}
		pending = request(info)
		if err := fn(a.p.Value, a.desc); err != nil {
			return "", err
		}
	}
}

// linkRequest is a GET of an absolute link Graph handed out (a next or
// delta link), sent as it is.
func linkRequest(link string) (*abs.RequestInformation, error) {
	u, err := url.Parse(link)
	if err != nil {
		return nil, err
	}
	if !u.IsAbs() {
		return nil, fmt.Errorf("link %q is not absolute", link)
	}
	info := abs.NewRequestInformation()
	info.Method = abs.GET
	info.SetUri(*u)
	info.Headers.TryAdd("Accept", "application/json")
	return info, nil
}

// listAll lists a whole collection into its sink. A 403 makes the collection
// not captured rather than failing the run.
func listAll[T any, P interface {
	*T
	directory.Object
}](ctx context.Context, r *run, coll directory.Collection, info *abs.RequestInformation, c cost) (stsync.Outcome, error) {
	sink := r.sink(coll)
	_, err := r.walk(ctx, coll, info, c, func(items []json.RawMessage, desc string) error {
		for _, raw := range items {
			if err := decodePut[T, P](sink, coll, desc, raw); err != nil {
				return err
			}
		}
		return nil
	})
	if isDenied(err) {
		return r.notCaptured(coll, err), nil
	}
	if err != nil {
		return stsync.Outcome{}, err
	}
	return stsync.Outcome{Collection: coll, Complete: true}, nil
}

// decodePut decodes one object, keeping its raw JSON, and stages it.
func decodePut[T any, P interface {
	*T
	directory.Object
}](sink stsync.Sink, coll directory.Collection, desc string, raw []byte) error {
	v, err := directory.Decode[T, P](raw)
	if err != nil {
		return objectError(coll, desc, err)
	}
	return sink.Put(P(&v))
}

// itemHead reads what a delta item says about itself: its id and whether it
// was removed.
func itemHead(raw []byte) (id string, removed bool, err error) {
	var h struct {
		ID      string          `json:"id"`
		Removed json.RawMessage `json:"@removed"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return "", false, err
	}
	if h.ID == "" {
		return "", false, errors.New("an item has no id")
	}
	return directory.ID(h.ID), len(h.Removed) > 0 && string(h.Removed) != "null", nil
}

// member is one member of a JSON object, in source order.
type member struct {
	name  string
	value json.RawMessage
}

// members splits a JSON object into its members, keeping their order.
func members(raw []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{name, v})
	}
	return out, nil
}

// rebuild writes an object's members back, dropping those named in drop and
// appending extra ones: Graph's member order survives, so the stored JSON is
// what Graph sent but for the annotations removed.
func rebuild(raw []byte, drop []string, extra ...member) ([]byte, error) {
	ms, err := members(raw)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(raw) + 64)
	b.WriteByte('{')
	n := 0
	write := func(m member) {
		if n > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(m.name)
		b.Write(name)
		b.WriteByte(':')
		b.Write(m.value)
		n++
	}
	for _, m := range ms {
		if !containsFold(drop, m.name) {
			write(m)
		}
	}
	for _, m := range extra {
		write(m)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// rawArray writes raw JSON values as one array.
func rawArray(items []json.RawMessage) json.RawMessage {
	if len(items) == 0 {
		return json.RawMessage("[]")
	}
	b, _ := json.Marshal(items)
	return b
}
