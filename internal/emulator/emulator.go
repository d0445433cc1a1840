// Package emulator serves a directory.Snapshot as Microsoft Graph (v1.0 and
// beta) and the Power Platform admin APIs over HTTP, with the behaviour a sync
// has to cope with in a real tenant: paging with absolute next links, $select
// and $filter, delta queries with their tokens, $batch, an OAuth2
// client-credentials token endpoint with audiences, throttling, latency and
// injected faults. Steward's demo, tests and benchmarks sync from it, and
// `server emulate` runs it standalone (GRAPH.md lists the facts it follows).
//
// The served tenant is versioned copy-on-write: churn (Apply, RandomChurn)
// builds a new version, and every page or delta token names the version it
// walks, so a walk sees each object exactly once whatever changes meanwhile.
package emulator

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/steward-dev/steward/internal/directory"
)

// Emulator serves one tenant. It is safe for concurrent use.
type Emulator struct {
	opts    Options
	routes  []*route
	cur     atomic.Pointer[tenant]
	clients map[string]Client

	mu            sync.RWMutex // guards what follows, up to writeMu
	versions      map[uint64]*tenant
	versionOrder  []uint64
	changes       []change
	memberChanges []memberChange
	deltaEpoch    uint64
	deltaRules    []deltaRule

	writeMu sync.Mutex // serialises changes to the tenant

	settings atomic.Pointer[settings]
	signer   *signer
	pageKey  []byte // signs page and delta tokens
	cert     *certificate
	throttle *throttler
	faults   *faultSet
	stats    *counters
}

// settings are the models that can be switched while serving.
type settings struct {
	throttle Throttle
	latency  Latency
}

// keptVersions is how many versions of the tenant stay reachable by page and
// delta tokens; a token naming an older one must restart. Each version shares
// what did not change, so this costs little unless churn runs in a loop.
const keptVersions = 32

// New builds an emulator serving s. The emulator shares the snapshot's
// objects without copying them: do not change s afterwards (use Apply).
func New(s *directory.Snapshot, opts Options) (*Emulator, error) {
	if s == nil {
		return nil, errors.New("emulator: no snapshot")
	}
	if s.Tenant.ID == "" {
		return nil, errors.New("emulator: the snapshot has no tenant id")
	}
	opts = opts.withDefaults()
	t, err := buildTenant(s)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	e := &Emulator{
		opts:     opts,
		routes:   buildRoutes(),
		clients:  map[string]Client{},
		versions: map[uint64]*tenant{t.seq: t},
		throttle: newThrottler(),
		faults:   &faultSet{},
		stats:    newCounters(),
		pageKey:  randomBytes(32),
	}
	e.versionOrder = []uint64{t.seq}
	e.cur.Store(t)
	e.settings.Store(&settings{throttle: opts.Throttle, latency: opts.Latency})
	if len(opts.Clients) == 0 {
		opts.Clients = []Client{{ID: newGUID(), Secret: newSecret()}}
		e.opts.Clients = opts.Clients
	}
	for _, c := range opts.Clients {
		if c.ID == "" {
			return nil, errors.New("emulator: a client has no id")
		}
		e.clients[directory.ID(c.ID)] = c
	}
	for _, f := range opts.Faults {
		if err := e.AddFault(f); err != nil {
			return nil, err
		}
	}
	if e.signer, err = newSigner(); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	if e.cert, err = newCertificate(opts.Now()); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	return e, nil
}

// Handler returns the emulator's HTTP handler: every API on one handler, as
// plain HTTP or behind TLS.
func (e *Emulator) Handler() http.Handler { return e }

// Client returns the first registered client: the generated one when Options
// listed none.
func (e *Emulator) Client() Client { return e.opts.Clients[0] }

// TenantID returns the served tenant's id.
func (e *Emulator) TenantID() string { return e.cur.Load().info.ID }

// SetThrottle switches the throttling model while serving.
func (e *Emulator) SetThrottle(t Throttle) {
	s := *e.settings.Load()
	s.throttle = t
	e.settings.Store(&s)
}

// SetLatency switches the latency model while serving.
func (e *Emulator) SetLatency(l Latency) {
	s := *e.settings.Load()
	s.latency = l
	e.settings.Store(&s)
}

// ServeHTTP answers one request: faults first (they stand for the network and
// the service failing, whatever the request), then the answer, delayed by the
// latency model and counted.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := e.newCall(r)
	pattern := c.pattern()
	if strings.EqualFold(r.Header.Get("x-ms-throttle-priority"), "low") {
		e.stats.lowPriority.Add(1)
	}
	f := e.faults.take(r.URL.Path, false)
	if f != nil && (f.Kind == FaultStatus || f.Kind == FaultReset) {
		e.stats.faults.Add(1)
		status := e.writeFault(w, r, c, f, nil)
		e.stats.add(pattern, status, 0)
		return
	}
	resp := e.respond(c, r)
	if c.route != nil && (c.route.proto == protoGraph || c.route.proto == protoPowerPlatform) {
		e.delay(r.Context(), resp.objects)
	}
	if f != nil {
		e.stats.faults.Add(1)
		status := e.writeFault(w, r, c, f, resp)
		e.stats.add(pattern, status, resp.objects)
		return
	}
	writeResponse(w, resp)
	e.stats.add(pattern, resp.status, resp.objects)
}

// newCall prepares the call of an HTTP request.
func (e *Emulator) newCall(r *http.Request) *call {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	c := &call{
		e:      e,
		t:      e.cur.Load(),
		method: r.Method,
		path:   r.URL.Path,
		base:   scheme + "://" + r.Host,
		rawQ:   r.URL.RawQuery,
		header: r.Header,
		reqID:  newGUID(),
		now:    e.opts.Now(),
	}
	c.route, c.params, c.version, c.wrongMethod = match(e.routes, r.Method, r.URL.Path)
	return c
}

// pattern names the call's route for the counters.
func (c *call) pattern() string {
	if c.route == nil {
		return "unmatched"
	}
	return c.route.pattern(c.version)
}

// maxBody bounds request bodies: token requests and $batch are small.
const maxBody = 4 << 20

// respond answers an HTTP request: route, token, throttling, handler.
func (e *Emulator) respond(c *call, r *http.Request) *response {
	switch {
	case c.route == nil:
		return c.notFound()
	case c.wrongMethod:
		return c.fail(errorf(http.StatusMethodNotAllowed, "Request_BadRequest", "The HTTP method '%s' is not allowed for the requested resource.", r.Method))
	}
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
		if err != nil {
			return c.fail(errorf(http.StatusRequestEntityTooLarge, "BadRequest", "The request body is too large."))
		}
		c.body = body
	}
	if c.route.aud != 0 {
		app, err := e.authenticate(r.Header.Get("Authorization"), c.route.aud, c.now)
		if err != nil {
			err.header = http.Header{"WWW-Authenticate": {fmt.Sprintf(`Bearer realm="", authorization_uri="%s/%s/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`, c.base, c.t.info.ID)}}
			return c.finish(c.failGraph(err), 1)
		}
		c.app = app
	}
	return e.dispatch(c)
}

// dispatch runs a routed, authenticated call: query options, throttling,
// handler, and the headers Graph sets on every answer. $batch runs its inner
// requests through here too.
func (e *Emulator) dispatch(c *call) *response {
	q, qerr := parseQuery(c.rawQ)
	if qerr != nil {
		return c.finish(c.fail(qerr), 1)
	}
	c.q = q
	cost := 1
	if c.route.proto == protoGraph {
		cost = c.cost()
		if limited := e.limit(c, cost); limited != nil {
			return c.finish(limited, cost)
		}
	}
	resp := c.route.handle(c)
	return c.finish(resp, cost)
}

// finish adds the headers every answer of the protocol carries.
func (c *call) finish(resp *response, cost int) *response {
	if resp.header == nil {
		resp.header = http.Header{}
	}
	if c.route != nil && (c.route.proto == protoGraph || c.route.proto == protoPowerPlatform) {
		resp.header.Set("request-id", c.reqID)
		cid := c.header.Get("client-request-id")
		if cid == "" {
			cid = c.reqID
		}
		resp.header.Set("client-request-id", cid)
	}
	if c.route != nil && c.route.proto == protoGraph {
		resp.header.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"Emulator","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"steward-emulator"}}`)
		resp.header.Set("x-ms-resource-unit", fmt.Sprint(cost))
		if c.throttlePercentage != "" {
			resp.header.Set("x-ms-throttle-limit-percentage", c.throttlePercentage)
		}
		resp.header.Set("OData-Version", "4.0")
		c.e.stats.resourceUnits.Add(int64(cost))
	}
	return resp
}

// notFound answers a path no route serves, as Graph does for an unknown
// segment and as a web server does elsewhere.
func (c *call) notFound() *response {
	parts := split(c.path)
	if len(parts) > 0 && (strings.EqualFold(parts[0], "v1.0") || strings.EqualFold(parts[0], "beta")) {
		seg := parts[len(parts)-1]
		if len(parts) > 1 {
			seg = parts[1]
		}
		return c.fail(errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", seg))
	}
	return c.fail(errorf(http.StatusNotFound, "NotFound", "No resource at %s.", c.path))
}

// writeResponse writes a response to the network.
func writeResponse(w http.ResponseWriter, resp *response) {
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	h.Set("Content-Length", fmt.Sprint(len(resp.body)))
	w.WriteHeader(resp.status)
	w.Write(resp.body)
}

// version returns a kept version of the tenant, or nil when it is gone.
func (e *Emulator) version(seq uint64) *tenant {
	if t := e.cur.Load(); t.seq == seq {
		return t
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.versions[seq]
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// newGUID returns a random GUID, for request ids and generated clients.
func newGUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newSecret returns a client secret shaped like Entra ID's (40 characters).
func newSecret() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-"
	b := randomBytes(40)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// logger returns the emulator's logger.
func (e *Emulator) logger() *slog.Logger { return e.opts.Log }
