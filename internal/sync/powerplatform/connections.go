package powerplatform

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/steward-dev/steward/internal/directory"
)

const connectionsPath = "/providers/Microsoft.PowerApps/scopes/admin/environments/"

// connectionsIn lists the connections of one environment. A refusal or a
// vanished environment skips it, leaving the collection incomplete.
func (r *run) connectionsIn(ctx context.Context, env string) error {
	u := r.cfg.PowerAppsURL + connectionsPath + url.PathEscape(env) + "/connections?api-version=2016-11-01"
	err := r.c.list(ctx, directory.Connections, r.cfg.PowerAppsScope, u, func(items []json.RawMessage) error {
		for _, raw := range items {
			c, err := decodeIn[directory.Connection](raw, env)
			if err != nil {
				return fmt.Errorf("GET %s: connection: %w", pathOf(u), err)
			}
			if err := r.conns.Put(&c); err != nil {
				return err
			}
		}
		r.counted(&r.tally.connections, len(items))
		r.c.progress.Fetched(directory.Connections, len(items))
		return nil
	})
	if ae, ok := skippable(err); ok {
		r.skipped(&r.tally.connsSkipped, "environment "+env, ae)
		return nil
	}
	return err
}
