package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"golang.org/x/sync/errgroup"

	"github.com/steward-dev/steward/internal/directory"
)

// JSON batching: per-object lists (owners, app role assignments, federated
// credentials, users refreshed after a delta) go through POST /$batch, 20
// requests at a time, a few batches in flight. The batch envelope and the
// inner answers are read raw, like pages; the SDK's BatchRequest would
// re-marshal every inner body through maps, losing Graph's JSON as sent.

// maxBatch is Graph's limit of requests in one batch.
const maxBatch = 20

type batchRequest struct {
	ID     string `json:"id"`
	Method string `json:"method"`
	URL    string `json:"url"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// batch GETs urls (relative to the v1.0 root, such as
// /servicePrincipals/{id}/owners?$select=id) and calls fn with the body of
// each successful answer; fn runs on several goroutines at once. An inner
// 404 means the object was deleted since it was listed: it is skipped and
// logged, not an error. Inner 429/503/504 are retried after their
// Retry-After, up to RetryMax times. c is what each inner request costs.
func (r *run) batch(ctx context.Context, coll directory.Collection, urls []string, c cost, fn func(i int, body []byte) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.s.cfg.Concurrency)
	for start := 0; start < len(urls); start += maxBatch {
		if gctx.Err() != nil {
			break
		}
		idx := make([]int, 0, maxBatch)
		for i := start; i < min(start+maxBatch, len(urls)); i++ {
			idx = append(idx, i)
		}
		g.Go(func() error { return r.batchChunk(gctx, coll, urls, idx, c, fn) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// batchChunk sends one batch and retries its throttled requests.
func (r *run) batchChunk(ctx context.Context, coll directory.Collection, urls []string, pending []int, c cost, fn func(int, []byte) error) error {
	for attempt := 0; ; attempt++ {
		reqs := make([]batchRequest, len(pending))
		for k, i := range pending {
			reqs[k] = batchRequest{ID: strconv.Itoa(i), Method: http.MethodGet, URL: urls[i]}
		}
		answers, err := r.sendBatch(ctx, coll, reqs, c)
		if err != nil {
			return err
		}
		var retry []int
		var wait time.Duration
		for _, i := range pending {
			a, ok := answers[strconv.Itoa(i)]
			switch {
			case !ok:
				return &RequestError{Collection: coll, Request: inner(urls[i]), Message: "the $batch answer has no response for this request"}
			case a.Status >= 200 && a.Status < 300:
				if err := fn(i, a.Body); err != nil {
					return err
				}
			case a.Status == http.StatusNotFound:
				r.s.cfg.Log.Info("graph: object deleted since it was listed; skipped",
					slog.String("collection", string(coll)), slog.String("request", inner(urls[i])))
			case a.Status == http.StatusTooManyRequests || a.Status == http.StatusServiceUnavailable || a.Status == http.StatusGatewayTimeout:
				if attempt >= r.s.cfg.RetryMax {
					return innerError(coll, urls[i], a)
				}
				retry = append(retry, i)
				wait = max(wait, r.retryDelay(a, attempt))
			default:
				return innerError(coll, urls[i], a)
			}
		}
		if len(retry) == 0 {
			return nil
		}
		r.s.cfg.Log.Debug("graph: retrying throttled requests of a batch", slog.String("collection", string(coll)),
			slog.Int("requests", len(retry)), slog.Duration("after", wait))
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		pending = retry
	}
}

// sendBatch posts one batch and returns its answers by request id. The
// inner requests' budget is spent before the envelope goes out.
func (r *run) sendBatch(ctx context.Context, coll directory.Collection, reqs []batchRequest, c cost) (map[string]batchResponse, error) {
	if err := r.s.limiter.wait(ctx, c.class, c.units*len(reqs)); err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]any{"requests": reqs})
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(r.s.ep.v1 + "/$batch")
	if err != nil {
		return nil, err
	}
	info := abs.NewRequestInformation()
	info.Method = abs.POST
	info.SetUri(*u)
	info.Headers.TryAdd("Accept", "application/json")
	info.Headers.TryAdd("Content-Type", "application/json")
	info.Content = body
	raw, desc, err := r.send(ctx, coll, info, cost{class: classNone})
	if err != nil {
		return nil, err
	}
	var env struct {
		Responses []batchResponse `json:"responses"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return nil, &RequestError{Collection: coll, Request: desc, Message: "malformed $batch answer: " + err.Error(), Err: err}
	}
	out := make(map[string]batchResponse, len(env.Responses))
	for _, a := range env.Responses {
		out[a.ID] = a
	}
	return out, nil
}

// retryDelay is how long to wait before retrying a throttled inner request:
// its Retry-After, or an exponential back-off with jitter when it has none.
func (r *run) retryDelay(a batchResponse, attempt int) time.Duration {
	for k, v := range a.Headers {
		if strings.EqualFold(k, "Retry-After") {
			if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
				return time.Duration(s) * time.Second
			}
		}
	}
	base := r.s.cfg.RetryDelay << min(attempt, 6)
	return base + rand.N(r.s.cfg.RetryDelay/2+1)
}

// inner names a request made inside a $batch.
func inner(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "GET " + u + " (in $batch)"
	}
	return describeURL(http.MethodGet, p) + " (in $batch)"
}

// innerError is the RequestError of a failed inner request.
func innerError(coll directory.Collection, u string, a batchResponse) error {
	re := &RequestError{Collection: coll, Request: inner(u), Status: a.Status}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(a.Body, &body) == nil {
		re.Code, re.Message = body.Error.Code, body.Error.Message
	}
	if re.Code == "" && re.Message == "" {
		re.Message = fmt.Sprintf("status %d", a.Status)
	}
	return re
}

// children lists, for each parent, one of its child lists through $batch and
// hands fn all of a parent's items. urlFor builds the first page's URL; the
// rare parent with more than a page (hundreds of owners) has its next pages
// fetched directly. fn runs on several goroutines at once.
func (r *run) children(ctx context.Context, coll directory.Collection, parents []string, urlFor func(id string) (string, error),
	c cost, fn func(parent string, items []json.RawMessage) error) error {
	urls := make([]string, len(parents))
	for i, id := range parents {
		u, err := urlFor(id)
		if err != nil {
			return err
		}
		urls[i] = u
	}
	return r.batch(ctx, coll, urls, c, func(i int, body []byte) error {
		p, err := decodePage(body)
		if err != nil {
			return &RequestError{Collection: coll, Request: inner(urls[i]), Message: err.Error(), Err: err}
		}
		items := p.Value
		for next := p.NextLink; next != ""; {
			info, err := linkRequest(next)
			if err != nil {
				return &RequestError{Collection: coll, Request: inner(urls[i]), Message: "bad next link: " + err.Error(), Err: err}
			}
			more, _, err := r.getPage(ctx, coll, info, c)
			if err != nil {
				return err
			}
			items = append(items, more.Value...)
			next = more.NextLink
		}
		return fn(parents[i], items)
	})
}

// relative turns a request built by an SDK builder into a URL relative to
// the v1.0 root, as $batch wants it.
func (r *run) relative(info *abs.RequestInformation, err error) (string, error) {
	if err != nil {
		return "", err
	}
	u, err := info.GetUri()
	if err != nil {
		return "", err
	}
	s := u.String()
	if rest, ok := strings.CutPrefix(s, r.s.ep.v1); ok {
		return rest, nil
	}
	return "", fmt.Errorf("graph: request %s is not under %s", s, r.s.ep.v1)
}
