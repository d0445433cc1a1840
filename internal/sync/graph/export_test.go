package graph

import (
	"context"

	msgraph "github.com/microsoftgraph/msgraph-sdk-go"

	stsync "github.com/steward-dev/steward/internal/sync"
)

// Client returns the source's SDK client and adapter, so the benchmark can
// compare the SDK's typed path with the source's on the same pipeline.
func Client(s *Source) (*msgraph.GraphBaseServiceClient, *msgraph.GraphRequestAdapter) {
	return s.client, s.adapter
}

// ListUsers runs the source's /users listing alone (raw pages decoded into
// directory.User), without the delta round that a full run adds.
func ListUsers(ctx context.Context, s *Source, sinks stsync.Sinks) (stsync.Outcome, error) {
	return newRun(s, stsync.Request{Mode: stsync.Full}, sinks).listUsers(ctx)
}
