package powerplatform

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/steward-dev/steward/internal/directory"
)

const environmentsPath = "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2020-10-01"

// environments lists every environment and Puts them once the listing is
// complete, so that a refusal on a later page stages nothing.
func (r *run) environments(ctx context.Context) ([]directory.Environment, error) {
	var envs []directory.Environment
	u := r.cfg.BAPURL + environmentsPath
	err := r.c.list(ctx, directory.Environments, r.cfg.PowerAppsScope, u, func(items []json.RawMessage) error {
		for _, raw := range items {
			e, err := directory.Decode[directory.Environment](raw)
			if err != nil {
				return fmt.Errorf("GET %s: environment: %w", pathOf(u), err)
			}
			if e.Name == "" {
				// Its flows and connections could not be asked for.
				return fmt.Errorf("GET %s: an environment has no name", pathOf(u))
			}
			envs = append(envs, e)
		}
		r.c.progress.Fetched(directory.Environments, len(items))
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range envs {
		if err := r.envs.Put(&envs[i]); err != nil {
			return nil, err
		}
	}
	return envs, nil
}

// decodeIn decodes a flow or connection listed in environment env. The
// admin APIs normally say which environment an object is in; when one does
// not, the environment is added to the raw JSON too, because the object's key
// and what Steward stores both depend on it.
func decodeIn[T any, P interface {
	*T
	directory.Object
	EnvironmentName() string
}](raw []byte, env string) (T, error) {
	v, err := directory.Decode[T, P](raw)
	if err != nil || P(&v).EnvironmentName() != "" {
		return v, err
	}
	if raw, err = withEnvironment(raw, env); err != nil {
		return v, err
	}
	return directory.Decode[T, P](raw)
}

// withEnvironment sets properties.environment.name in an object's JSON,
// keeping every other field (the keys come out sorted).
func withEnvironment(raw []byte, env string) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	var props map[string]json.RawMessage
	if p := obj["properties"]; len(p) > 0 {
		if err := json.Unmarshal(p, &props); err != nil { // null leaves props nil
			return nil, err
		}
	}
	if props == nil {
		props = map[string]json.RawMessage{}
	}
	var err error
	if props["environment"], err = json.Marshal(directory.EnvironmentRef{Name: env}); err != nil {
		return nil, err
	}
	if obj["properties"], err = json.Marshal(props); err != nil {
		return nil, err
	}
	return json.Marshal(obj)
}
