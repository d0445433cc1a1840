package powerplatform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/steward-dev/steward/internal/directory"
	stsync "github.com/steward-dev/steward/internal/sync"
)

const (
	// maxBody bounds a page: a page of a hundred objects is a few hundred
	// kilobytes, so anything near this is not a page.
	maxBody = 64 << 20
	// maxErrorBody bounds what is read of an error answer.
	maxErrorBody = 64 << 10
	// maxBackoff caps the exponential backoff (not a server's Retry-After).
	maxBackoff = 30 * time.Second
)

// APIError is an error answer of a Power Platform admin API. Path is the
// request path without its query; Code and Message come from the answer's
// {"error":{"code","message"}} when it has one.
type APIError struct {
	Status  int
	Path    string
	Code    string
	Message string
}

// Error says which request failed and how, in the API's words.
func (e *APIError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %d %s%s", e.Path, e.Status, http.StatusText(e.Status), detail(e))
}

// refused reports whether the API refused the caller (not signed in as
// someone it accepts, or without the rights).
func (e *APIError) refused() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// skippable reports whether an answer concerns one environment or flow only:
// refused, or gone since it was listed. Such errors make a collection
// incomplete instead of failing the run.
func skippable(err error) (*APIError, bool) {
	var ae *APIError
	if errors.As(err, &ae) && (ae.refused() || ae.Status == http.StatusNotFound) {
		return ae, true
	}
	return nil, false
}

// client sends GET requests with a bearer token, retrying what is worth
// retrying, and follows nextLink pages.
type client struct {
	http     *http.Client
	tokens   stsync.TokenProvider
	retryMax int
	base     time.Duration
	timeout  time.Duration
	log      *slog.Logger
	progress stsync.Progress
}

// transientError is a failure that another attempt may well avoid: a broken
// connection, a timed-out attempt, a throttled or unavailable service.
type transientError struct {
	err  error
	wait time.Duration // the server's Retry-After, 0 when it gave none
}

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// get fetches one URL and returns the body of its 2xx answer.
func (c *client) get(ctx context.Context, coll directory.Collection, scope, rawURL string) ([]byte, error) {
	path := pathOf(rawURL)
	for attempt := 0; ; attempt++ {
		body, err := c.try(ctx, coll, scope, rawURL, path)
		if err == nil {
			return body, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var te *transientError
		if !errors.As(err, &te) {
			return nil, err
		}
		if attempt >= c.retryMax {
			return nil, fmt.Errorf("%w (gave up after %d attempts)", te.err, attempt+1)
		}
		wait := te.wait
		if wait <= 0 {
			wait = c.backoff(attempt)
		}
		c.log.Info("power platform request failed, retrying",
			slog.String("path", path), slog.Int("attempt", attempt+1),
			slog.Duration("wait", wait), slog.String("error", te.err.Error()))
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// try makes one attempt. The token is asked for each attempt, because a
// retry may come after a long Retry-After and the provider knows expiry.
func (c *client) try(ctx context.Context, coll directory.Collection, scope, rawURL, path string) ([]byte, error) {
	token, err := c.tokens.Token(ctx, scope)
	if err != nil {
		return nil, fmt.Errorf("GET %s: token for %s: %w", path, scope, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	c.progress.Requested(coll)
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error repeats the whole URL; the path is enough to find it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, &transientError{err: fmt.Errorf("GET %s: %w", path, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := readAPIError(resp, path)
		switch resp.StatusCode {
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return nil, &transientError{err: ae, wait: retryAfter(resp.Header, time.Now())}
		}
		return nil, ae
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		// A body cut short by the network is a broken connection, not a
		// malformed answer: another attempt usually gets all of it.
		return nil, &transientError{err: fmt.Errorf("GET %s: reading the body: %w", path, err)}
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("GET %s: the answer is larger than %d MB", path, maxBody>>20)
	}
	return body, nil
}

// readAPIError reads an error answer, keeping the API's code and message.
func readAPIError(resp *http.Response, path string) *APIError {
	ae := &APIError{Status: resp.StatusCode, Path: path}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &body) == nil {
		ae.Code = body.Error.Code
		ae.Message = clip(body.Error.Message, 500)
	}
	return ae
}

// retryAfter reads Retry-After in seconds or as an HTTP date; 0 when absent.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// backoff is the wait before retry n+1 without a Retry-After: RetryBase·2ⁿ,
// capped, with "equal jitter" so that workers throttled together do not
// come back together.
func (c *client) backoff(attempt int) time.Duration {
	d := maxBackoff
	if attempt < 20 {
		d = min(c.base<<attempt, maxBackoff)
	}
	half := d / 2
	return half + rand.N(half+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// page is one page of a Power Platform listing. Value is a pointer so that
// an answer without it is told apart from an empty page.
type page struct {
	Value    *[]json.RawMessage `json:"value"`
	NextLink string             `json:"nextLink"`
}

// list GETs a listing and its following pages (nextLink, not Graph's
// @odata.nextLink) and hands each page's objects to fn.
func (c *client) list(ctx context.Context, coll directory.Collection, scope, first string, fn func([]json.RawMessage) error) error {
	start, err := url.Parse(first)
	if err != nil {
		return fmt.Errorf("list %s: %w", coll, err)
	}
	seen := map[string]bool{}
	for next := first; next != ""; {
		seen[next] = true
		path := pathOf(next)
		body, err := c.get(ctx, coll, scope, next)
		if err != nil {
			return err
		}
		var p page
		if err := json.Unmarshal(body, &p); err != nil {
			return fmt.Errorf("GET %s: malformed response body (%d bytes): %w", path, len(body), err)
		}
		if p.Value == nil {
			return fmt.Errorf("GET %s: malformed response body: no \"value\" array", path)
		}
		if err := fn(*p.Value); err != nil {
			return err
		}
		next = p.NextLink
		if next == "" {
			break
		}
		u, err := url.Parse(next)
		switch {
		case err != nil:
			return fmt.Errorf("GET %s: malformed nextLink: %w", path, err)
		case !sameService(start, u):
			// The token goes with every page: never to a host it was not meant for.
			return fmt.Errorf("GET %s: nextLink points to another host (%s)", path, u.Host)
		case seen[next]:
			return fmt.Errorf("GET %s: nextLink repeats an earlier page", path)
		}
	}
	return nil
}

// sameService reports whether a next link stays with the service the listing
// started on: the same scheme, and the same host or a subdomain of it (a
// regional host such as emea.api.flow.microsoft.com; unverified whether the
// real APIs hand those out, so they are allowed).
func sameService(start, next *url.URL) bool {
	if !strings.EqualFold(next.Scheme, start.Scheme) {
		return false
	}
	if strings.EqualFold(next.Host, start.Host) {
		return true
	}
	return strings.HasSuffix(strings.ToLower(next.Hostname()), "."+strings.ToLower(start.Hostname()))
}

// pathOf returns a URL's path, for errors and logs: the query carries paging
// state that says nothing to a reader.
func pathOf(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		return u.EscapedPath()
	}
	path, _, _ := strings.Cut(rawURL, "?")
	return path
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
