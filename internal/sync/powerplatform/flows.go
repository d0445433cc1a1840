package powerplatform

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/steward-dev/steward/internal/directory"
)

const flowsPath = "/providers/Microsoft.ProcessSimple/scopes/admin/environments/"

// flowRef names a flow whose permissions are to be fetched: listEnv is the
// environment it was listed in (for the URL), env the one its key uses.
type flowRef struct {
	listEnv, env, name string
}

// flowsIn lists the flows of one environment and queues those whose
// permissions this run fetches. A refusal or a vanished environment skips it,
// leaving flows and their permissions incomplete.
func (r *run) flowsIn(ctx context.Context, env string) error {
	u := r.cfg.FlowURL + flowsPath + url.PathEscape(env) + "/v2/flows?api-version=2016-11-01"
	err := r.c.list(ctx, directory.Flows, r.cfg.FlowScope, u, func(items []json.RawMessage) error {
		for _, raw := range items {
			f, err := decodeIn[directory.Flow](raw, env)
			if err != nil {
				return fmt.Errorf("GET %s: flow: %w", pathOf(u), err)
			}
			if err := r.flows.Put(&f); err != nil {
				return err
			}
			if !r.wantsPermissions(&f) {
				continue
			}
			r.counted(&r.tally.permsWanted, 1)
			select {
			case r.permQ <- flowRef{listEnv: env, env: f.EnvironmentName(), name: f.Name}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		r.counted(&r.tally.flows, len(items))
		r.c.progress.Fetched(directory.Flows, len(items))
		return nil
	})
	if ae, ok := skippable(err); ok {
		r.skipped(&r.tally.flowsSkipped, "environment "+env, ae)
		return nil
	}
	return err
}

// wantsPermissions says whether this run fetches a flow's permissions: every
// flow in a full run; in a delta run, flows modified within the window, and
// flows that do not say when they were modified.
func (r *run) wantsPermissions(f *directory.Flow) bool {
	if r.since.IsZero() {
		return true
	}
	t := f.Properties.LastModifiedTime
	return t.IsZero() || t.After(r.since)
}

// permissionSet is the JSON of a directory.FlowPermissionSet, as
// flowPermissions.json holds it, with each permission as the API returned it.
type permissionSet struct {
	FlowName    string            `json:"flowName"`
	Environment string            `json:"environment"`
	Permissions []json.RawMessage `json:"permissions"`
}

// permissions fetches the permissions of one flow. A refusal (the Flow admin
// API may refuse some flows) or a flow deleted since it was listed skips it.
func (r *run) permissions(ctx context.Context, f flowRef) error {
	u := r.cfg.FlowURL + flowsPath + url.PathEscape(f.listEnv) + "/flows/" + url.PathEscape(f.name) + "/permissions?api-version=2016-11-01"
	perms := []json.RawMessage{} // a flow without permissions is [], not null
	err := r.c.list(ctx, directory.FlowPermissions, r.cfg.FlowScope, u, func(items []json.RawMessage) error {
		perms = append(perms, items...)
		return nil
	})
	if ae, ok := skippable(err); ok {
		r.skipped(&r.tally.permsSkipped, "flow "+f.env+"/"+f.name, ae)
		return nil
	}
	if err != nil {
		return err
	}
	raw, err := json.Marshal(permissionSet{FlowName: f.name, Environment: f.env, Permissions: perms})
	if err != nil {
		return fmt.Errorf("GET %s: %w", pathOf(u), err)
	}
	set, err := directory.Decode[directory.FlowPermissionSet](raw)
	if err != nil {
		return fmt.Errorf("GET %s: permission: %w", pathOf(u), err)
	}
	if err := r.perms.Put(&set); err != nil {
		return err
	}
	r.c.progress.Fetched(directory.FlowPermissions, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tally.fetched = append(r.tally.fetched, set.Key())
	return nil
}
