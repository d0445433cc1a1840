package emulator

import (
	"net/http"
	"regexp"

	"github.com/steward-dev/steward/internal/directory"
)

// The Power Platform admin APIs (GRAPH.md §10): environments (BAP), flows and
// their permissions (Flow), connections (PowerApps). Pages link with nextLink,
// errors are {"error":{"code","message"}}, and every request needs an
// api-version.

var apiVersionShape = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview)?$`)

// checkAPIVersion answers 400 when api-version is missing or malformed, as
// Azure Resource Manager style APIs do.
func (c *call) checkAPIVersion() *response {
	switch {
	case c.q.apiVersion == "":
		return c.fail(errorf(http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."))
	case !apiVersionShape.MatchString(c.q.apiVersion):
		return c.fail(errorf(http.StatusBadRequest, "InvalidApiVersionParameter", "The api-version '%s' is invalid. The supported versions are '2016-11-01,2020-10-01'.", c.q.apiVersion))
	}
	return nil
}

// environmentOr404 checks that an environment exists (when environments were captured).
func (c *call) environmentOr404(t *tenant) *apiError {
	env := c.params["env"]
	if t.count(directory.Environments) > 0 && t.get(directory.Environments, env) == nil {
		return errorf(http.StatusNotFound, "EnvironmentNotFound", "The environment '%s' could not be found in the tenant '%s'.", env, t.info.ID)
	}
	return nil
}

func (c *call) listEnvironments() *response {
	if resp := c.checkAPIVersion(); resp != nil {
		return resp
	}
	return c.list(listing{res: resEnvironments, coll: directory.Environments, items: all(directory.Environments), pp: true})
}

func (c *call) getEnvironment() *response {
	if resp := c.checkAPIVersion(); resp != nil {
		return resp
	}
	if err := c.environmentOr404(c.t); err != nil {
		return c.fail(err)
	}
	e := c.t.get(directory.Environments, c.params["env"])
	if e == nil {
		return c.fail(errorf(http.StatusNotFound, "EnvironmentNotFound", "The environment '%s' could not be found.", c.params["env"]))
	}
	return jsonResponse(e.raw, 1)
}

func (c *call) listFlows() *response {
	if resp := c.checkAPIVersion(); resp != nil {
		return resp
	}
	return c.list(listing{res: resFlows, coll: directory.Flows, pp: true,
		items: func(t *tenant) ([]*entry, *apiError) {
			if err := c.environmentOr404(t); err != nil {
				return nil, err
			}
			return t.flowsByEnv[directory.ID(c.params["env"])], nil
		}})
}

// flowPermissions lists the permission objects of one flow.
func (c *call) flowPermissions() *response {
	if resp := c.checkAPIVersion(); resp != nil {
		return resp
	}
	return c.list(listing{res: resFlowPermissions, coll: directory.FlowPermissions, pp: true,
		items: func(t *tenant) ([]*entry, *apiError) {
			if err := c.environmentOr404(t); err != nil {
				return nil, err
			}
			key := directory.ID(c.params["env"]) + "/" + directory.ID(c.params["flow"])
			if t.count(directory.Flows) > 0 && t.colls[directory.Flows].byKey[key] == nil {
				return nil, errorf(http.StatusNotFound, "FlowNotFound", "Could not find flow '%s'.", c.params["flow"])
			}
			set := t.colls[directory.FlowPermissions].byKey[key]
			if set == nil {
				return nil, nil
			}
			return subEntries(lookup(set.fields(), "permissions")), nil
		}})
}

func (c *call) listConnections() *response {
	if resp := c.checkAPIVersion(); resp != nil {
		return resp
	}
	return c.list(listing{res: resConnections, coll: directory.Connections, pp: true,
		items: func(t *tenant) ([]*entry, *apiError) {
			if err := c.environmentOr404(t); err != nil {
				return nil, err
			}
			return t.connsByEnv[directory.ID(c.params["env"])], nil
		}})
}
