package emulator

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is how an injected fault breaks an answer.
type FaultKind string

// Fault kinds.
const (
	// FaultStatus answers an error status (5xx, or 429 with or without
	// Retry-After) with the API's error body.
	FaultStatus FaultKind = "status"
	// FaultReset resets the connection (TCP RST) before answering.
	FaultReset FaultKind = "reset"
	// FaultTruncate sends valid headers whose Content-Length promises the
	// whole body, half of the body, then closes the connection.
	FaultTruncate FaultKind = "truncate"
	// FaultMalformed answers 200 with the body cut in the middle of an object.
	FaultMalformed FaultKind = "malformed"
	// FaultSlow sends the body in small pieces with pauses between them.
	FaultSlow FaultKind = "slow"
)

// Always, as a Fault's Count, affects every request from the Nth on.
const Always = -1

// Fault breaks the answers to some requests of a path. Faults are one-shot
// unless Count says otherwise.
type Fault struct {
	// Path is the request path (/v1.0/users), or with a trailing * a prefix
	// (/v1.0/servicePrincipals/*). Case-insensitive; the query is ignored.
	Path string
	// Nth is the first request affected, counting from 1 the requests to
	// Path made since the fault was added (0 means 1).
	Nth int
	// Count is how many consecutive requests are affected (0 means 1, Always
	// every one from Nth on).
	Count int
	Kind  FaultKind
	// Status is FaultStatus's status (default 503).
	Status int
	// RetryAfter is the Retry-After of a 429 (default 1 s); NoRetryAfter
	// sends none.
	RetryAfter   time.Duration
	NoRetryAfter bool
	// Delay is FaultSlow's pause between pieces (default 100 ms).
	Delay time.Duration
}

// ParseFault reads a fault as `server emulate --fault` writes it:
// comma-separated key=value pairs, e.g. "path=/v1.0/users,nth=3,kind=503".
// kind is a status (500-599, 429), reset, truncate, malformed or slow; count
// is a number or all; retry is a duration or none (for 429); delay a duration
// (for slow).
func ParseFault(s string) (Fault, error) {
	var f Fault
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return f, fmt.Errorf("fault %q: %q is not key=value", s, part)
		}
		v = strings.TrimSpace(v)
		var err error
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "path":
			f.Path = v
		case "nth":
			f.Nth, err = strconv.Atoi(v)
		case "count":
			if strings.EqualFold(v, "all") {
				f.Count = Always
			} else {
				f.Count, err = strconv.Atoi(v)
			}
		case "kind":
			if n, convErr := strconv.Atoi(v); convErr == nil {
				f.Kind, f.Status = FaultStatus, n
			} else {
				f.Kind = FaultKind(strings.ToLower(v))
			}
		case "retry":
			if strings.EqualFold(v, "none") {
				f.NoRetryAfter = true
			} else {
				f.RetryAfter, err = time.ParseDuration(v)
			}
		case "delay":
			f.Delay, err = time.ParseDuration(v)
		default:
			return f, fmt.Errorf("fault %q: unknown key %q (want path, nth, count, kind, retry, delay)", s, k)
		}
		if err != nil {
			return f, fmt.Errorf("fault %q: %s: %w", s, k, err)
		}
	}
	return f, f.validate()
}

func (f Fault) validate() error {
	switch {
	case f.Path == "":
		return fmt.Errorf("fault: no path")
	case f.Nth < 0 || f.Count < Always:
		return fmt.Errorf("fault on %s: nth and count must not be negative", f.Path)
	}
	switch f.Kind {
	case FaultStatus:
		if f.Status != 0 && f.Status != http.StatusTooManyRequests && (f.Status < 500 || f.Status > 599) {
			return fmt.Errorf("fault on %s: status %d: want 429 or 5xx", f.Path, f.Status)
		}
	case FaultReset, FaultTruncate, FaultMalformed, FaultSlow:
	default:
		return fmt.Errorf("fault on %s: unknown kind %q (want a status, reset, truncate, malformed or slow)", f.Path, f.Kind)
	}
	return nil
}

// matches reports whether the fault concerns a path.
func (f *Fault) matches(path string) bool {
	if prefix, ok := strings.CutSuffix(f.Path, "*"); ok {
		return len(path) >= len(prefix) && strings.EqualFold(path[:len(prefix)], prefix)
	}
	return strings.EqualFold(path, f.Path)
}

type activeFault struct {
	Fault
	seen int
}

type faultSet struct {
	mu     sync.Mutex
	faults []*activeFault
}

// take counts a request against every fault of its path and returns the
// first fault that fires for it. Requests inside a $batch only meet status
// faults: the connection belongs to the batch.
func (s *faultSet) take(path string, inner bool) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	var fired *Fault
	for _, f := range s.faults {
		if !f.matches(path) || (inner && f.Kind != FaultStatus) {
			continue
		}
		f.seen++
		nth, count := max(f.Nth, 1), f.Count
		if count == 0 {
			count = 1
		}
		if fired == nil && f.seen >= nth && (count == Always || f.seen < nth+count) {
			copied := f.Fault
			fired = &copied
		}
	}
	return fired
}

// AddFault injects a fault from now on.
func (e *Emulator) AddFault(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	e.faults.mu.Lock()
	defer e.faults.mu.Unlock()
	e.faults.faults = append(e.faults.faults, &activeFault{Fault: f})
	return nil
}

// ClearFaults removes every injected fault.
func (e *Emulator) ClearFaults() {
	e.faults.mu.Lock()
	defer e.faults.mu.Unlock()
	e.faults.faults = nil
}

// statusFault is the answer of a FaultStatus.
func (c *call) statusFault(f *Fault) *response {
	status := f.Status
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	code := map[int]string{500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout", 429: "TooManyRequests"}[status]
	if code == "" {
		code = "UnknownError"
	}
	resp := c.fail(errorf(status, code, "Injected fault: %s.", strings.ToLower(http.StatusText(status))))
	retry := f.RetryAfter
	if status == http.StatusTooManyRequests && retry == 0 {
		retry = time.Second
	}
	if retry > 0 && !f.NoRetryAfter {
		resp.header.Set("Retry-After", strconv.Itoa(max(1, int(retry.Round(time.Second)/time.Second))))
	}
	return c.finish(resp, 1)
}

// writeFault answers with a fault and returns the status to count (0 for a
// connection reset). resp is the real answer for the body faults.
func (e *Emulator) writeFault(w http.ResponseWriter, r *http.Request, c *call, f *Fault, resp *response) int {
	switch f.Kind {
	case FaultStatus:
		resp = c.statusFault(f)
		writeResponse(w, resp)
		return resp.status
	case FaultReset:
		resetConnection(w)
		return 0
	case FaultTruncate:
		truncate(w, resp)
		return resp.status
	case FaultMalformed:
		cut := *resp
		cut.body = resp.body[:malformedCut(resp.body)]
		writeResponse(w, &cut)
		return resp.status
	case FaultSlow:
		trickle(w, r, resp, f.Delay)
		return resp.status
	}
	writeResponse(w, resp)
	return resp.status
}

// resetConnection closes the client's connection with a TCP reset.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // HTTP/2: the server resets the stream
	}
	raw := conn
	if t, ok := conn.(*tls.Conn); ok {
		raw = t.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		tcp.SetLinger(0) // close sends RST instead of FIN
	}
	raw.Close()
}

// truncate writes the headers of the whole response, half its body, and
// closes the connection: the client reads an unexpected EOF.
func truncate(w http.ResponseWriter, resp *response) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	writeRawResponse(rw.Writer, resp, len(resp.body), resp.body[:len(resp.body)/2])
	rw.Flush()
}

func writeRawResponse(w *bufio.Writer, resp *response, length int, body []byte) {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", resp.status, http.StatusText(resp.status))
	h := resp.header.Clone()
	h.Set("Content-Length", strconv.Itoa(length))
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Write(w)
	w.WriteString("\r\n")
	w.Write(body)
}

// malformedCut returns where to cut a body so that it ends inside an object:
// just after the opening brace of the middle item of a page, else halfway.
func malformedCut(body []byte) int {
	mid := len(body) / 2
	for i := mid; i < len(body); i++ {
		if body[i] == '{' {
			return i + 1
		}
	}
	return max(mid, 1)
}

// trickle writes the body in pieces with a pause between them.
func trickle(w http.ResponseWriter, r *http.Request, resp *response, delay time.Duration) {
	if delay <= 0 {
		delay = 100 * time.Millisecond
	}
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	rc := http.NewResponseController(w)
	const pieces = 8
	size := max(1, (len(resp.body)+pieces-1)/pieces)
	for off := 0; off < len(resp.body); off += size {
		if off > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		w.Write(resp.body[off:min(off+size, len(resp.body))])
		rc.Flush()
	}
}
