package store

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/exposure"
)

// Owner identity types of flows and connections (the flows page's groups).
const (
	// OwnerServiceAccount is a user the current evaluation classifies as a
	// likely or confirmed service account.
	OwnerServiceAccount = "serviceAccount"
	// OwnerPerson is any other user of the directory.
	OwnerPerson = "person"
	// OwnerWorkload is a service principal or managed identity.
	OwnerWorkload = "workload"
	// OwnerUnknown is an owner the directory does not hold (deleted, from
	// another tenant) or none recorded.
	OwnerUnknown = "unknown"
)

// OwnerTypes lists the owner identity types in the order pages show them.
var OwnerTypes = []string{OwnerServiceAccount, OwnerPerson, OwnerWorkload, OwnerUnknown}

// FlowOverview is a tenant's Power Platform automation at a glance: flows
// and connections by the identity type of their owners, connection status,
// and the flows at risk. Lists are capped; their totals say how many exist.
type FlowOverview struct {
	Environments int
	Flows        int
	Connections  int
	// Groups holds one entry per owner type, in OwnerTypes order.
	Groups []FlowOwnerGroup
	// ConnectionStatus counts connections by overall status, most first.
	ConnectionStatus []ConnectionStatusCount

	// AtRisk are the first flows at risk: owner exposed first, then a
	// connection in error, then a dormant owner; by name within each.
	AtRisk      []FlowAtRisk
	AtRiskTotal int
	// NotConnected are the first connections whose status is not
	// Connected, by owner and name.
	NotConnected      []ConnectionNotConnected
	NotConnectedTotal int
}

// FlowOwnerGroup counts the flows and connections of one owner type. A flow
// owned by several principals of different types counts in each group.
type FlowOwnerGroup struct {
	Type        string // OwnerServiceAccount, …
	FlowOwners  int    // distinct owners of flows
	Flows       int
	ConnOwners  int // distinct creators of connections
	Connections int
	Connected   int // connections whose overall status is Connected
	InError     int // … is Error
}

// ConnectionStatusCount is how many connections have one overall status.
type ConnectionStatusCount struct {
	Status string // Connected | Error | … ("" when the source gave none)
	Count  int
}

// FlowAtRisk is a flow with the reasons it is at risk.
type FlowAtRisk struct {
	EnvironmentName        string
	EnvironmentDisplayName string
	Name                   string
	DisplayName            string
	State                  string
	// ExposedOwners are owners a password alone signs in as (exposure
	// "exposed"); DormantOwners have the DORMANT finding.
	ExposedOwners []FlowOwner
	DormantOwners []FlowOwner
	// BrokenConnections are the connections in error it uses.
	BrokenConnections []FlowBrokenConnection
}

// FlowOwner names an owner of a flow (an account of the current evaluation).
type FlowOwner struct {
	ID          string
	DisplayName string
	UPN         string
	Kind        string // user | servicePrincipal | managedIdentity
}

// FlowBrokenConnection is a connection in error that a flow depends on.
type FlowBrokenConnection struct {
	Name      string `json:"name"`      // the connection's name (id)
	Connector string `json:"connector"` // the connector's display name, from the flow's reference
	APIID     string `json:"apiId"`
	Error     string `json:"error"`
	OwnerID   string `json:"ownerId"`
	// ViaOwner: the flow lists no connection references, so this is a
	// connection in error of one of its owners in the same environment.
	ViaOwner bool `json:"viaOwner"`
}

// ConnectionNotConnected is a connection whose status is not Connected.
type ConnectionNotConnected struct {
	EnvironmentName        string
	EnvironmentDisplayName string
	Name                   string
	APIID                  string
	DisplayName            string
	Status                 string
	Error                  string
	OwnerID                string
	OwnerUPN               string
	// OwnerName is the owner's display name when the current evaluation
	// knows the owner ("" otherwise: the owner has no page to link to).
	OwnerName  string
	OwnerKnown bool
}

// FlowOverview reads a tenant's flows page: counts by owner type and the
// first limit flows at risk and connections not connected, from one
// snapshot of the data. Owners of a flow are its creator and the principals
// with the Owner role on it.
//
// Every flow and connection is counted (no index can answer "by owner type"
// or "at risk"), so one statement reads each table once, aggregates in the
// database with each owner looked up once by primary key, and returns only
// the counts and the first flows at risk.
func (db *DB) FlowOverview(ctx context.Context, tenantID string, limit int) (_ FlowOverview, err error) {
	defer derr.Wrap(&err, "store.FlowOverview(%s)", tenantID)
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var o FlowOverview
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return o, mapError(err, "begin")
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// Whole-tenant aggregates of tens of thousands of rows: JIT compilation
	// costs more than it saves at these sizes, sorts should stay in memory,
	// and a nested loop over two such sets (which a planner misled by stale
	// statistics picks) would take minutes. The lookups that must be nested
	// loops are LATERAL … LIMIT 1, which have no alternative.
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off; SET LOCAL work_mem = '32MB'; SET LOCAL enable_nestloop = off`); err != nil {
		return o, mapError(err, "flow overview settings")
	}
	if err := flowCountsAndRisks(ctx, tx, tenantID, limit, &o); err != nil {
		return o, err
	}
	if o.Connections > 0 {
		if err := connectionsNotConnected(ctx, tx, tenantID, limit, &o); err != nil {
			return o, err
		}
	}
	return o, mapError(tx.Commit(ctx), "commit")
}

// currentEvaluationSQL is the id of tenant $1's current evaluation, as an
// uncorrelated subquery: an InitPlan computed once, so that every probe of
// exposure_accounts uses its primary key or its indexes on evaluation_id.
const currentEvaluationSQL = `(SELECT evaluation_id FROM exposure_current WHERE tenant_id = $1)`

// flowOverviewSQL computes, for tenant $1, the counts by owner type (one
// JSON array in the first column) and the first $2 flows at risk (one row
// each; a single row with listed = false when there are none).
//
//   - live: the live flows, read once, with their connection references
//     (raw properties.connectionReferences: connection names within the
//     flow's environment).
//   - pairs: (flow, owner), the creator and each Owner permission, often the
//     same principal twice: counts are of distinct flows and owners.
//   - kinds: each distinct owner (a few thousand on a large tenant) typed
//     once by a primary-key probe of the current evaluation, which holds
//     every live user and service principal of the directory; an owner it
//     does not hold is not in the directory. LATERAL … LIMIT 1 keeps the
//     probes probes, where a hash join would read every evaluated account.
//   - flow_kinds: the owner types of each owned flow, one row per flow.
//   - risky: exposed owners and DORMANT findings, two small index ranges.
//   - broken: connections in error that a flow references; a flow that
//     lists no references falls back to its owners' connections in error in
//     its environment. Connection names are stored lower-cased when they
//     are GUIDs, hence lower() on both sides.
const flowOverviewSQL = `
WITH live AS MATERIALIZED (
	SELECT environment_name, name, display_name, state, creator_object_id,
		CASE jsonb_typeof(raw #> '{properties,connectionReferences}')
		WHEN 'object' THEN raw #> '{properties,connectionReferences}' ELSE '{}'::jsonb END AS refs
	FROM flows WHERE tenant_id = $1 AND deleted_at IS NULL
),
pairs AS MATERIALIZED (
	SELECT environment_name, name AS flow_name, creator_object_id AS owner_id FROM live WHERE creator_object_id <> ''
	UNION ALL
	SELECT p.environment_name, p.flow_name, p.principal_id FROM flow_permissions p
	JOIN live l ON l.environment_name = p.environment_name AND l.name = p.flow_name
	WHERE p.tenant_id = $1 AND p.deleted_at IS NULL AND p.role_name = 'Owner' AND p.principal_id <> ''
),
conns AS MATERIALIZED (
	SELECT environment_name, name, api_id, created_by_id AS owner_id, overall_status, error_message
	FROM connections WHERE tenant_id = $1 AND deleted_at IS NULL
),
owners AS MATERIALIZED (
	SELECT owner_id, bool_or(flow) AS owns_flows, bool_or(NOT flow) AS owns_connections
	FROM (SELECT owner_id, true AS flow FROM pairs
	      UNION ALL SELECT owner_id, false FROM conns WHERE owner_id <> '') o
	GROUP BY owner_id
),
kinds AS MATERIALIZED (
	SELECT o.owner_id, o.owns_flows, o.owns_connections,
		CASE WHEN a.kind IS NULL THEN '` + OwnerUnknown + `'
		     WHEN a.kind <> '` + string(exposure.KindUser) + `' THEN '` + OwnerWorkload + `'
		     WHEN a.sa_level IN ('` + string(exposure.ServiceLikely) + `', '` + string(exposure.ServiceConfirmed) + `')
		          THEN '` + OwnerServiceAccount + `'
		     ELSE '` + OwnerPerson + `' END AS kind
	FROM owners o
	LEFT JOIN LATERAL (SELECT kind, sa_level FROM exposure_accounts
		WHERE evaluation_id = ` + currentEvaluationSQL + ` AND account_id = o.owner_id LIMIT 1) a ON true
),
flow_kinds AS MATERIALIZED (
	SELECT bool_or(k.kind = '` + OwnerServiceAccount + `') AS service_account, bool_or(k.kind = '` + OwnerPerson + `') AS person,
		bool_or(k.kind = '` + OwnerWorkload + `') AS workload, bool_or(k.kind = '` + OwnerUnknown + `') AS unknown
	FROM pairs p JOIN kinds k USING (owner_id)
	GROUP BY p.environment_name, p.flow_name
),
risky AS MATERIALIZED (
	SELECT account_id, bool_or(exposed) AS exposed, bool_or(NOT exposed) AS dormant
	FROM (SELECT account_id, true AS exposed FROM exposure_accounts
	      WHERE evaluation_id = ` + currentEvaluationSQL + ` AND exposure = '` + string(exposure.LevelExposed) + `'
	      UNION ALL
	      SELECT account_id, false FROM exposure_findings
	      WHERE evaluation_id = ` + currentEvaluationSQL + ` AND code = '` + exposure.CodeDormant + `') r
	GROUP BY account_id
),
owner_risk AS (
	SELECT p.environment_name, p.flow_name,
		array_agg(DISTINCT p.owner_id) FILTER (WHERE r.exposed) AS exposed,
		array_agg(DISTINCT p.owner_id) FILTER (WHERE r.dormant) AS dormant
	FROM pairs p JOIN risky r ON r.account_id = p.owner_id
	GROUP BY 1, 2
),
bad AS MATERIALIZED (
	SELECT environment_name, lower(name) AS lname, name, api_id, owner_id, error_message
	FROM conns WHERE overall_status = 'Error'
),
refs AS MATERIALIZED (
	SELECT l.environment_name, l.name AS flow_name, lower(r.value ->> 'connectionName') AS lname,
		coalesce(r.value ->> 'displayName', '') AS connector
	FROM live l CROSS JOIN LATERAL jsonb_each(l.refs) r
),
broken AS (
	SELECT r.environment_name, r.flow_name, b.name, r.connector, b.api_id, b.error_message, b.owner_id, false AS via_owner
	FROM refs r JOIN bad b ON b.environment_name = r.environment_name AND b.lname = r.lname
	UNION ALL
	SELECT p.environment_name, p.flow_name, b.name, '', b.api_id, b.error_message, b.owner_id, true
	FROM live l
	JOIN pairs p ON p.environment_name = l.environment_name AND p.flow_name = l.name
	JOIN bad b ON b.environment_name = p.environment_name AND b.owner_id = p.owner_id
	WHERE l.refs = '{}'::jsonb
),
conn_risk AS (
	SELECT environment_name, flow_name,
		jsonb_agg(DISTINCT jsonb_build_object('name', name, 'connector', connector, 'apiId', api_id,
			'error', error_message, 'ownerId', owner_id, 'viaOwner', via_owner)) AS broken
	FROM broken GROUP BY 1, 2
),
at_risk AS MATERIALIZED (
	SELECT coalesce(o.environment_name, c.environment_name) AS environment_name,
		coalesce(o.flow_name, c.flow_name) AS flow_name, o.exposed, o.dormant, c.broken
	FROM owner_risk o FULL JOIN conn_risk c ON c.environment_name = o.environment_name AND c.flow_name = o.flow_name
),
counts AS (
	SELECT jsonb_agg(jsonb_build_object('what', what, 'key', key, 'a', a, 'b', b, 'c', c, 'd', d)) AS counts
	FROM (
		SELECT 'owners' AS what, kind AS key, count(*) FILTER (WHERE owns_flows) AS a,
			count(*) FILTER (WHERE owns_connections) AS b, 0 AS c, 0 AS d
		FROM kinds GROUP BY kind
		UNION ALL
		SELECT 'flows', '', count(*) FILTER (WHERE service_account), count(*) FILTER (WHERE person),
			count(*) FILTER (WHERE workload), count(*) FILTER (WHERE unknown)
		FROM flow_kinds
		UNION ALL
		SELECT 'connections', coalesce(k.kind, '` + OwnerUnknown + `'), count(*),
			count(*) FILTER (WHERE c.overall_status = 'Connected'), count(*) FILTER (WHERE c.overall_status = 'Error'), 0
		FROM conns c LEFT JOIN kinds k USING (owner_id) GROUP BY 2
		UNION ALL
		SELECT 'status', overall_status, count(*), 0, 0, 0 FROM conns GROUP BY overall_status
		UNION ALL
		SELECT 'totals', '',
			(SELECT count(*) FROM environments WHERE tenant_id = $1 AND deleted_at IS NULL),
			(SELECT count(*) FROM live),
			(SELECT count(*) FROM flow_kinds),
			(SELECT count(*) FROM conns)
		UNION ALL
		SELECT 'atRisk', '', count(*), 0, 0, 0 FROM at_risk
	) x
),
page AS (
	SELECT l.environment_name, l.name, l.display_name, l.state, a.exposed, a.dormant, a.broken
	FROM at_risk a JOIN live l ON l.environment_name = a.environment_name AND l.name = a.flow_name
	ORDER BY a.exposed IS NULL, a.broken IS NULL, l.display_name, l.environment_name, l.name
	LIMIT $2
)
SELECT c.counts, p.name IS NOT NULL,
	coalesce(p.environment_name, ''), coalesce(e.display_name, ''), coalesce(p.name, ''),
	coalesce(p.display_name, ''), coalesce(p.state, ''),
	coalesce(p.exposed, '{}'), coalesce(p.dormant, '{}'), coalesce(p.broken, '[]')
FROM counts c
LEFT JOIN (page p LEFT JOIN environments e ON e.tenant_id = $1 AND e.name = p.environment_name) ON true
ORDER BY p.exposed IS NULL, p.broken IS NULL, p.display_name, p.environment_name, p.name`

// flowCount is one row of flowOverviewSQL's counts.
type flowCount struct {
	What string `json:"what"` // owners | flows | connections | status | totals | atRisk
	Key  string `json:"key"`  // the owner type or the status ("" for flows: a to d are the types)
	A    int    `json:"a"`
	B    int    `json:"b"`
	C    int    `json:"c"`
	D    int    `json:"d"`
}

func flowCountsAndRisks(ctx context.Context, tx pgx.Tx, tenantID string, limit int, o *FlowOverview) error {
	rows, err := tx.Query(ctx, flowOverviewSQL, tenantID, limit)
	if err != nil {
		return mapError(err, "flow overview")
	}
	var counts []byte
	var listed bool
	var f FlowAtRisk
	var ex, dm []string
	var broken []byte
	var exposed, dormant [][]string
	_, err = pgx.ForEachRow(rows, []any{&counts, &listed, &f.EnvironmentName, &f.EnvironmentDisplayName, &f.Name,
		&f.DisplayName, &f.State, &ex, &dm, &broken}, func() error {
		if !listed {
			return nil
		}
		x := f
		x.BrokenConnections = nil
		if err := json.Unmarshal(broken, &x.BrokenConnections); err != nil {
			return err
		}
		slices.SortFunc(x.BrokenConnections, func(a, b FlowBrokenConnection) int { return cmp.Compare(a.Name, b.Name) })
		o.AtRisk = append(o.AtRisk, x)
		exposed = append(exposed, slices.Clone(ex))
		dormant = append(dormant, slices.Clone(dm))
		return nil
	})
	if err != nil {
		return mapError(err, "flow overview")
	}
	if err := o.setCounts(counts); err != nil {
		return err
	}

	// Name the owners of the listed flows (a few hundred at most).
	var ids []string
	for i := range o.AtRisk {
		ids = append(ids, exposed[i]...)
		ids = append(ids, dormant[i]...)
	}
	names, err := flowOwnerNames(ctx, tx, tenantID, ids)
	if err != nil {
		return err
	}
	named := func(ids []string) []FlowOwner {
		var out []FlowOwner
		for _, id := range ids {
			out = append(out, names[id])
		}
		return out
	}
	for i := range o.AtRisk {
		o.AtRisk[i].ExposedOwners = named(exposed[i])
		o.AtRisk[i].DormantOwners = named(dormant[i])
	}
	return nil
}

// setCounts fills the overview's counts from flowOverviewSQL's JSON.
func (o *FlowOverview) setCounts(js []byte) error {
	var counts []flowCount
	if err := json.Unmarshal(js, &counts); err != nil {
		return err
	}
	o.Groups = nil
	groups := map[string]*FlowOwnerGroup{}
	for _, t := range OwnerTypes {
		o.Groups = append(o.Groups, FlowOwnerGroup{Type: t})
	}
	for i := range o.Groups {
		groups[o.Groups[i].Type] = &o.Groups[i]
	}
	owned := 0
	for _, c := range counts {
		g := groups[c.Key]
		switch {
		case c.What == "owners" && g != nil:
			g.FlowOwners, g.ConnOwners = c.A, c.B
		case c.What == "flows": // by type, in OwnerTypes order
			for i, n := range []int{c.A, c.B, c.C, c.D} {
				o.Groups[i].Flows = n
			}
		case c.What == "connections" && g != nil:
			g.Connections, g.Connected, g.InError = c.A, c.B, c.C
		case c.What == "status":
			o.ConnectionStatus = append(o.ConnectionStatus, ConnectionStatusCount{Status: c.Key, Count: c.A})
		case c.What == "totals":
			o.Environments, o.Flows, owned, o.Connections = c.A, c.B, c.C, c.D
		case c.What == "atRisk":
			o.AtRiskTotal = c.A
		}
	}
	// Flows with no recorded owner belong to no directory object.
	groups[OwnerUnknown].Flows += o.Flows - owned
	slices.SortFunc(o.ConnectionStatus, func(a, b ConnectionStatusCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Status, b.Status))
	})
	return nil
}

// flowOwnerNames returns the current evaluation's accounts of ids by id;
// an id it does not know maps to an owner with only its id.
func flowOwnerNames(ctx context.Context, tx pgx.Tx, tenantID string, ids []string) (map[string]FlowOwner, error) {
	out := map[string]FlowOwner{}
	for _, id := range ids {
		out[id] = FlowOwner{ID: id}
	}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, `
		SELECT account_id, display_name, upn, kind FROM exposure_accounts
		WHERE evaluation_id = `+currentEvaluationSQL+` AND account_id = ANY($2)`, tenantID, ids)
	if err != nil {
		return nil, mapError(err, "flow owners")
	}
	var w FlowOwner
	_, err = pgx.ForEachRow(rows, []any{&w.ID, &w.DisplayName, &w.UPN, &w.Kind}, func() error {
		out[w.ID] = w
		return nil
	})
	return out, mapError(err, "flow owners")
}

// connectionsNotConnectedSQL reads the partial index connections_errors
// (status other than Connected), then names the owners of the page only.
const connectionsNotConnectedSQL = `
WITH page AS (
	SELECT environment_name, name, api_id, display_name, overall_status, error_message,
		created_by_id, created_by_upn, count(*) OVER () AS total
	FROM connections
	WHERE tenant_id = $1 AND deleted_at IS NULL AND overall_status <> 'Connected'
	ORDER BY created_by_upn, display_name, environment_name, name
	LIMIT $2
)
SELECT p.environment_name, coalesce(e.display_name, ''), p.name, p.api_id, p.display_name, p.overall_status,
	p.error_message, p.created_by_id, p.created_by_upn, coalesce(a.display_name, ''), a.account_id IS NOT NULL, p.total
FROM page p
LEFT JOIN environments e ON e.tenant_id = $1 AND e.name = p.environment_name
LEFT JOIN LATERAL (
	SELECT account_id, display_name FROM exposure_accounts
	WHERE evaluation_id = ` + currentEvaluationSQL + ` AND account_id = p.created_by_id AND p.created_by_id <> '' LIMIT 1) a ON true
ORDER BY p.created_by_upn, p.display_name, p.environment_name, p.name`

func connectionsNotConnected(ctx context.Context, tx pgx.Tx, tenantID string, limit int, o *FlowOverview) error {
	rows, err := tx.Query(ctx, connectionsNotConnectedSQL, tenantID, limit)
	if err != nil {
		return mapError(err, "connections not connected")
	}
	var c ConnectionNotConnected
	_, err = pgx.ForEachRow(rows, []any{&c.EnvironmentName, &c.EnvironmentDisplayName, &c.Name, &c.APIID, &c.DisplayName,
		&c.Status, &c.Error, &c.OwnerID, &c.OwnerUPN, &c.OwnerName, &c.OwnerKnown, &o.NotConnectedTotal}, func() error {
		o.NotConnected = append(o.NotConnected, c)
		return nil
	})
	return mapError(err, "connections not connected")
}
