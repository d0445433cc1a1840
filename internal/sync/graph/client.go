package graph

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"time"

	auth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraph "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/steward-dev/steward/internal/directory"
	stsync "github.com/steward-dev/steward/internal/sync"
)

// newClient builds the SDK's request adapter and service client: the Azure
// Identity auth provider, the SDK's default middleware with a configured
// RetryHandler, and Steward's own middleware last, next to the transport.
func newClient(c Config, ep endpoints, lim *limiter) (*msgraph.GraphRequestAdapter, *msgraph.GraphBaseServiceClient, error) {
	// The auth provider compares the request URL's host name (without port)
	// with these hosts, and refuses plain http except to localhost,
	// 127.0.0.1 and ::1: the emulator on loopback works over http, and a
	// token is never sent to a host other than GraphURL's.
	provider, err := auth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(c.Credential, []string{ep.scope}, []string{ep.host})
	if err != nil {
		return nil, nil, err
	}
	opts := msgraph.GetDefaultClientOptions()
	var mws []khttp.Middleware
	for _, m := range msgraphcore.GetDefaultMiddlewaresWithOptions(&opts) {
		switch m.(type) {
		case *khttp.RetryHandler, khttp.RetryHandler:
			m = khttp.NewRetryHandlerWithOptions(retryOptions(c))
		case *khttp.CompressionHandler:
			// Only $batch has a body, a few KB of JSON: gzip saves nothing, and
			// not every server Steward talks to (the emulator) inflates bodies.
			m = khttp.NewCompressionHandlerWithOptions(khttp.NewCompressionOptions(false))
		}
		mws = append(mws, m)
	}
	mws = append(mws, &stewardHandler{limiter: lim, timeout: c.RequestTimeout})
	httpClient := msgraphcore.GetDefaultClient(&opts, mws...)
	httpClient.Transport = khttp.NewCustomTransportWithParentTransport(baseTransport(c), mws...)
	// The client's Timeout would cover every retry and Retry-After wait of the
	// pipeline; stewardHandler bounds each attempt instead.
	httpClient.Timeout = 0

	adapter, err := msgraph.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(provider, nil, nil, httpClient)
	if err != nil {
		return nil, nil, err
	}
	adapter.SetBaseUrl(ep.v1) // before the client is built: it copies the base URL
	// NewGraphServiceClient would also set the SDK's global backing store
	// factory, a data race with any other client parsing a model meanwhile
	// (two sources, or tests in parallel); the base client with no factory
	// leaves the global alone and builds the same requests.
	return adapter, msgraph.NewGraphBaseServiceClient(adapter, nil), nil
}

// baseTransport is Config.HTTPClient's transport, or a clone of the default
// one keeping enough idle connections for the batch workers and listings.
func baseTransport(c Config) http.RoundTripper {
	if c.HTTPClient != nil && c.HTTPClient.Transport != nil {
		return c.HTTPClient.Transport
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = c.Concurrency + 16
	return t
}

// retryOptions configures the SDK's RetryHandler: it retries 429, 503 and
// 504, honours Retry-After, and otherwise backs off delay·2^(n-1) plus up to
// a second of jitter. It counts whole seconds.
func retryOptions(c Config) khttp.RetryHandlerOptions {
	delay := max(1, int(math.Ceil(c.RetryDelay.Seconds())))
	log := c.Log
	return khttp.RetryHandlerOptions{
		MaxRetries:   c.RetryMax,
		DelaySeconds: delay,
		ShouldRetry: func(waited time.Duration, attempt int, req *http.Request, resp *http.Response) bool {
			if req.Context().Err() != nil {
				return false
			}
			log.Debug("graph: retrying", slog.String("request", describeURL(req.Method, req.URL)),
				slog.Int("status", resp.StatusCode), slog.Int("attempt", attempt+1), slog.String("retry_after", resp.Header.Get("Retry-After")))
			return true
		},
	}
}

// meta rides in a request's context down to stewardHandler: what the request
// costs and whom to tell about it.
type meta struct {
	coll     directory.Collection
	cost     cost
	progress stsync.Progress
}

type metaKey struct{}

func withMeta(ctx context.Context, m meta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

// stewardHandler is the innermost middleware, so it runs once per attempt,
// retries included: it marks every request as background work
// (x-ms-throttle-priority: low, which Graph throttles first under pressure
// instead of interactive traffic), waits for the request's budget, counts
// the attempt, and bounds it with RequestTimeout.
type stewardHandler struct {
	limiter *limiter
	timeout time.Duration
}

// Intercept implements khttp.Middleware.
func (h *stewardHandler) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	req.Header.Set("x-ms-throttle-priority", "low")
	ctx := req.Context()
	if m, ok := ctx.Value(metaKey{}).(meta); ok {
		if err := h.limiter.wait(ctx, m.cost.class, m.cost.units); err != nil {
			return nil, err
		}
		if m.progress != nil {
			m.progress.Requested(m.coll)
		}
	}
	actx, cancel := context.WithTimeout(ctx, h.timeout)
	resp, err := p.Next(req.WithContext(actx), i)
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode >= 400 {
		// Error bodies are small; reading them now lets the attempt's
		// context go even when the RetryHandler drops the response unread.
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		cancel()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose releases an attempt's context once its body is read.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
