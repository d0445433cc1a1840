package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/exposure"
)

// This file computes the flows page's summary of a tenant: counts by owner
// identity type and connection status, the flows at risk and the
// connections not connected. SaveEvaluation stores it with each evaluation
// (0011_flow_summary.sql); the flows page reads it, or computes it with the
// same statement when the current evaluation has none (see FlowOverview).

// Dimensions of the flow summary's counts in exposure_aggregates.
const (
	dimFlowTotals       = "flowTotals"       // keys below
	dimFlowsByOwner     = "flowsByOwner"     // flows with an owner of the type (key: owner type)
	dimFlowOwners       = "flowOwnersByType" // distinct owners of flows
	dimConnsByOwner     = "connectionsByOwner"
	dimConnOwners       = "connectionOwnersByType" // distinct creators of connections
	dimConnectedByOwner = "connectedByOwner"
	dimInErrorByOwner   = "inErrorByOwner"
	dimConnStatus       = "connectionStatus" // key: the overall status
)

// Keys of dimFlowTotals. Every summary has all of them: they mark it stored.
const (
	totalEnvironments = "environments"
	totalFlows        = "flows"
	totalConnections  = "connections"
	totalAtRisk       = "atRisk"
	totalNotConnected = "notConnected"
)

// flowDimensionsSQL lists the summary's dimensions as an SQL list.
const flowDimensionsSQL = `('` + dimFlowTotals + `', '` + dimFlowsByOwner + `', '` + dimFlowOwners + `', '` +
	dimConnsByOwner + `', '` + dimConnOwners + `', '` + dimConnectedByOwner + `', '` + dimInErrorByOwner + `', '` +
	dimConnStatus + `')`

// The columns of the summary's lists, as stored and as computed.
const (
	flowsAtRiskColumns = `position, environment_name, environment_display_name, name, display_name, state,
		exposed_owners, dormant_owners`
	brokenColumns       = `position, name, connector, api_id, error_message, owner_id, via_owner`
	notConnectedColumns = `position, environment_name, environment_display_name, name, api_id, display_name,
		overall_status, error_message, created_by_id, created_by_upn, owner_name, owner_known`
)

// flowSummarySQL is a WITH clause that computes tenant $1's flow summary
// against its current evaluation, as four relations: flow_counts
// (dimension, key, count), flows_at_risk (flowsAtRiskColumns),
// flow_broken_connections (brokenColumns: the connections in error of each
// flow at risk, by its position) and connections_not_connected
// (notConnectedColumns).
//
//   - live: the live flows, read once, with their connection references
//     (raw properties.connectionReferences: connection names within the
//     flow's environment).
//   - pairs: (flow, owner), the creator and each Owner permission, often the
//     same principal twice: counts are of distinct flows and owners.
//   - kinds: each distinct owner or connection creator (a few thousand on a
//     large tenant) looked up once by a primary-key probe of the current
//     evaluation, which holds every live user and service principal of the
//     directory (an owner it does not hold is not in the directory): its
//     type, whether it is exposed, whether it is dormant (its finding codes
//     hold DORMANT). LATERAL … LIMIT 1 keeps the probes probes, where a hash
//     join would read every evaluated account.
//   - flow_kinds: the owner types of each owned flow, one row per flow.
//   - broken: connections in error that a flow references; a flow that
//     lists no references falls back to its owners' connections in error in
//     its environment. Connection names are stored lower-cased when they
//     are GUIDs, hence lower() on both sides. A flow can reach the same
//     connection twice (two references, or an owner who is also the
//     creator): broken_rows keeps each once.
//   - flows_at_risk and connections_not_connected are numbered from 1 in
//     the page's order, without gaps (the flows at risk of a page are a
//     range of positions); names and environments are ties-free keys, so
//     the numbering is the same on every run.
const flowSummarySQL = `
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
	SELECT environment_name, name, api_id, display_name, created_by_id AS owner_id, created_by_upn AS owner_upn,
		overall_status, error_message
	FROM connections WHERE tenant_id = $1 AND deleted_at IS NULL
),
owners AS MATERIALIZED (
	SELECT owner_id, bool_or(flow) AS owns_flows, bool_or(NOT flow) AS owns_connections
	FROM (SELECT owner_id, true AS flow FROM pairs
	      UNION ALL SELECT owner_id, false FROM conns WHERE owner_id <> '') o
	GROUP BY owner_id
),
kinds AS MATERIALIZED (
	SELECT o.owner_id, o.owns_flows, o.owns_connections, a.display_name, a.kind IS NOT NULL AS known,
		CASE WHEN a.kind IS NULL THEN '` + OwnerUnknown + `'
		     WHEN a.kind <> '` + string(exposure.KindUser) + `' THEN '` + OwnerWorkload + `'
		     WHEN a.sa_level IN ('` + string(exposure.ServiceLikely) + `', '` + string(exposure.ServiceConfirmed) + `')
		          THEN '` + OwnerServiceAccount + `'
		     ELSE '` + OwnerPerson + `' END AS kind,
		coalesce(a.exposure = '` + string(exposure.LevelExposed) + `', false) AS exposed,
		coalesce(a.finding_codes @> ARRAY['` + exposure.CodeDormant + `'], false) AS dormant
	FROM owners o
	LEFT JOIN LATERAL (SELECT kind, sa_level, exposure, finding_codes, display_name FROM exposure_accounts
		WHERE evaluation_id = ` + currentEvaluationSQL + ` AND account_id = o.owner_id LIMIT 1) a ON true
),
flow_kinds AS MATERIALIZED (
	SELECT bool_or(k.kind = '` + OwnerServiceAccount + `') AS service_account, bool_or(k.kind = '` + OwnerPerson + `') AS person,
		bool_or(k.kind = '` + OwnerWorkload + `') AS workload, bool_or(k.kind = '` + OwnerUnknown + `') AS unknown
	FROM pairs p JOIN kinds k USING (owner_id)
	GROUP BY p.environment_name, p.flow_name
),
owner_risk AS (
	SELECT p.environment_name, p.flow_name,
		array_agg(DISTINCT p.owner_id) FILTER (WHERE k.exposed) AS exposed,
		array_agg(DISTINCT p.owner_id) FILTER (WHERE k.dormant) AS dormant
	FROM pairs p JOIN kinds k USING (owner_id)
	WHERE k.exposed OR k.dormant
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
broken_rows AS MATERIALIZED (
	SELECT DISTINCT environment_name, flow_name, name, connector, api_id, error_message, owner_id, via_owner FROM broken
),
conn_risk AS (
	SELECT DISTINCT environment_name, flow_name FROM broken_rows
),
at_risk AS MATERIALIZED (
	SELECT coalesce(o.environment_name, c.environment_name) AS environment_name,
		coalesce(o.flow_name, c.flow_name) AS flow_name, o.exposed, o.dormant, c.flow_name IS NOT NULL AS broken
	FROM owner_risk o FULL JOIN conn_risk c ON c.environment_name = o.environment_name AND c.flow_name = o.flow_name
),
flows_at_risk AS MATERIALIZED (
	SELECT row_number() OVER (ORDER BY a.exposed IS NULL, NOT a.broken, l.display_name, l.environment_name, l.name)::int
			AS position,
		l.environment_name, coalesce(e.display_name, '') AS environment_display_name, l.name, l.display_name, l.state,
		coalesce(a.exposed, '{}') AS exposed_owners, coalesce(a.dormant, '{}') AS dormant_owners
	FROM at_risk a
	JOIN live l ON l.environment_name = a.environment_name AND l.name = a.flow_name
	LEFT JOIN environments e ON e.tenant_id = $1 AND e.name = l.environment_name
),
flow_broken_connections AS (
	SELECT r.position, b.name, b.connector, b.api_id, b.error_message, b.owner_id, b.via_owner
	FROM broken_rows b JOIN flows_at_risk r ON r.environment_name = b.environment_name AND r.name = b.flow_name
),
connections_not_connected AS (
	SELECT row_number() OVER (ORDER BY c.owner_upn, c.display_name, c.environment_name, c.name)::int AS position,
		c.environment_name, coalesce(e.display_name, '') AS environment_display_name, c.name, c.api_id, c.display_name,
		c.overall_status, c.error_message, c.owner_id AS created_by_id, c.owner_upn AS created_by_upn,
		coalesce(k.display_name, '') AS owner_name, coalesce(k.known, false) AS owner_known
	FROM conns c
	LEFT JOIN kinds k ON k.owner_id = c.owner_id
	LEFT JOIN environments e ON e.tenant_id = $1 AND e.name = c.environment_name
	WHERE c.overall_status <> 'Connected'
),
flow_counts (dimension, key, count) AS (
	SELECT '` + dimFlowOwners + `', kind, count(*) FILTER (WHERE owns_flows) FROM kinds GROUP BY kind
	UNION ALL
	SELECT '` + dimConnOwners + `', kind, count(*) FILTER (WHERE owns_connections) FROM kinds GROUP BY kind
	UNION ALL
	-- A flow with no recorded owner belongs to no directory object: unknown.
	SELECT '` + dimFlowsByOwner + `', t.kind, t.n
	FROM (SELECT count(*) FILTER (WHERE service_account) AS service_account, count(*) FILTER (WHERE person) AS person,
			count(*) FILTER (WHERE workload) AS workload,
			count(*) FILTER (WHERE unknown) + (SELECT count(*) FROM live) - count(*) AS unknown
		FROM flow_kinds) f
	CROSS JOIN LATERAL (VALUES ('` + OwnerServiceAccount + `', f.service_account), ('` + OwnerPerson + `', f.person),
		('` + OwnerWorkload + `', f.workload), ('` + OwnerUnknown + `', f.unknown)) t (kind, n)
	UNION ALL
	SELECT d.dimension, x.kind, d.n
	FROM (SELECT coalesce(k.kind, '` + OwnerUnknown + `') AS kind, count(*) AS n,
			count(*) FILTER (WHERE c.overall_status = 'Connected') AS connected,
			count(*) FILTER (WHERE c.overall_status = 'Error') AS in_error
		FROM conns c LEFT JOIN kinds k USING (owner_id) GROUP BY 1) x
	CROSS JOIN LATERAL (VALUES ('` + dimConnsByOwner + `', x.n), ('` + dimConnectedByOwner + `', x.connected),
		('` + dimInErrorByOwner + `', x.in_error)) d (dimension, n)
	UNION ALL
	SELECT '` + dimConnStatus + `', overall_status, count(*) FROM conns GROUP BY overall_status
	UNION ALL
	SELECT '` + dimFlowTotals + `', t.key, t.n
	FROM (VALUES
		('` + totalEnvironments + `', (SELECT count(*) FROM environments WHERE tenant_id = $1 AND deleted_at IS NULL)),
		('` + totalFlows + `', (SELECT count(*) FROM live)),
		('` + totalConnections + `', (SELECT count(*) FROM conns)),
		('` + totalAtRisk + `', (SELECT count(*) FROM at_risk)),
		('` + totalNotConnected + `', (SELECT count(*) FROM conns WHERE overall_status <> 'Connected'))) t (key, n)
)`

// saveFlowSummarySQL stores tenant $1's flow summary as evaluation $2's,
// which must be current (the summary is computed against the current one).
const saveFlowSummarySQL = flowSummarySQL + `,
save_counts AS (
	INSERT INTO exposure_aggregates (evaluation_id, dimension, key, count)
	SELECT $2, dimension, key, count FROM flow_counts
),
save_at_risk AS (
	INSERT INTO exposure_flows_at_risk (evaluation_id, ` + flowsAtRiskColumns + `)
	SELECT $2, ` + flowsAtRiskColumns + ` FROM flows_at_risk
),
save_broken AS (
	-- In the order pages read them: a page's rows share a few blocks.
	INSERT INTO exposure_flow_broken_connections (evaluation_id, ` + brokenColumns + `)
	SELECT $2, ` + brokenColumns + ` FROM flow_broken_connections ORDER BY position
)
INSERT INTO exposure_connections_not_connected (evaluation_id, ` + notConnectedColumns + `)
SELECT $2, ` + notConnectedColumns + ` FROM connections_not_connected`

// flowSettingsSQL are the settings the summary's statement runs with: it
// aggregates whole tables of tens of thousands of rows, where JIT
// compilation costs more than it saves and sorts should stay in memory,
// and a nested loop over two such sets (which a planner misled by the
// CTEs' estimates or a new partition's missing statistics picks) would take
// minutes. The lookups that must be nested loops are LATERAL … LIMIT 1,
// which have no alternative. SET LOCAL: they last until the transaction
// ends, so the statement runs last in it.
const flowSettingsSQL = `SET LOCAL jit = off; SET LOCAL work_mem = '32MB'; SET LOCAL enable_nestloop = off`

// saveFlowSummary stores the flow summary of a tenant's evaluation evalID,
// which tx has just made current. It must be the last statement of tx (see
// flowSettingsSQL).
func saveFlowSummary(ctx context.Context, tx pgx.Tx, tenantID string, evalID int64) error {
	if _, err := tx.Exec(ctx, flowSettingsSQL); err != nil {
		return mapError(err, "flow summary settings")
	}
	_, err := tx.Exec(ctx, saveFlowSummarySQL, tenantID, evalID)
	return mapError(err, "flow summary")
}
