package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/steward-dev/steward/internal/derr"
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
	// Evaluated: the tenant has a current evaluation. Without one, every
	// owner is unknown and only connections put flows at risk.
	Evaluated    bool
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
	// Position is the flow's place in the list, from 1: its connections in
	// error (FlowBrokenConnection) name it by position.
	Position               int
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
	Name      string // the connection's name (id)
	Connector string // the connector's display name, from the flow's reference
	APIID     string
	Error     string
	OwnerID   string
	// ViaOwner: the flow lists no connection references, so this is a
	// connection in error of one of its owners in the same environment.
	ViaOwner bool
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
// first limit flows at risk and connections not connected, as of the
// tenant's current evaluation. Owners of a flow are its creator and the
// principals with the Owner role on it.
//
// SaveEvaluation stores the summary with each evaluation (flow_summary.go),
// so a request reads a few dozen counts and two index ranges. When the
// current evaluation has none (the tenant is not evaluated yet, or was last
// evaluated before the summary existed) it is computed here with the same
// statement, every flow, permission and connection read once: correct, but
// slow on a large tenant, until the next evaluation stores it.
func (db *DB) FlowOverview(ctx context.Context, tenantID string, limit int) (_ FlowOverview, err error) {
	defer derr.Wrap(&err, "store.FlowOverview(%s)", tenantID)
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	tx, err := db.beginRead(ctx)
	if err != nil {
		return FlowOverview{}, err
	}
	defer tx.close(ctx)
	o, names := newFlowOverview(), map[string]FlowOwner{}
	stored, err := readFlowSummary(ctx, tx, tenantID, limit, o, names)
	if err != nil {
		return *o, err
	}
	if !stored {
		o = newFlowOverview()
		if err := computeFlowSummary(ctx, tx, tenantID, limit, o, names); err != nil {
			return *o, err
		}
	}
	o.nameOwners(names)
	o.sort()
	return *o, mapError(tx.Commit(ctx), "commit")
}

// currentEvaluationSQL is the id of tenant $1's current evaluation, as an
// uncorrelated subquery: an InitPlan computed once, so that every probe of
// exposure_accounts uses its primary key or its indexes on evaluation_id.
const currentEvaluationSQL = `(SELECT evaluation_id FROM exposure_current WHERE tenant_id = $1)`

// The stored summary of tenant $1's current evaluation: its counts by the
// primary key of exposure_aggregates, the first $2 flows at risk, their
// connections in error (the same positions: they have no gaps) and the
// names of their owners, and the first $2 connections not connected, each
// by an index led by evaluation_id.
const (
	storedFlowCountsSQL = `
		SELECT dimension, key, count FROM exposure_aggregates
		WHERE evaluation_id = ` + currentEvaluationSQL + ` AND dimension IN ` + flowDimensionsSQL
	storedFlowsAtRiskSQL = `
		SELECT ` + flowsAtRiskColumns + ` FROM exposure_flows_at_risk
		WHERE evaluation_id = ` + currentEvaluationSQL + `
		ORDER BY position LIMIT $2`
	storedBrokenConnectionsSQL = `
		SELECT ` + brokenColumns + ` FROM exposure_flow_broken_connections
		WHERE evaluation_id = ` + currentEvaluationSQL + ` AND position <= $2`
	storedOwnerNamesSQL = `
		SELECT a.account_id, a.display_name, a.upn, a.kind
		FROM (SELECT DISTINCT unnest(exposed_owners || dormant_owners) AS id FROM exposure_flows_at_risk
		      WHERE evaluation_id = ` + currentEvaluationSQL + ` AND position <= $2) r
		JOIN exposure_accounts a ON a.evaluation_id = ` + currentEvaluationSQL + ` AND a.account_id = r.id`
	storedNotConnectedSQL = `
		SELECT ` + notConnectedColumns + ` FROM exposure_connections_not_connected
		WHERE evaluation_id = ` + currentEvaluationSQL + `
		ORDER BY position LIMIT $2`
)

// readFlowSummary reads the summary stored with tenant's current
// evaluation into o, and the names of the listed owners into names, in one
// round trip; stored is false when there is none.
func readFlowSummary(ctx context.Context, tx *readTx, tenantID string, limit int, o *FlowOverview,
	names map[string]FlowOwner) (stored bool, err error) {
	var b pgx.Batch
	var c flowCountRow
	b.Queue(storedFlowCountsSQL, tenantID).Query(eachRow([]any{&c.Dimension, &c.Key, &c.Count}, func() {
		stored = stored || c.Dimension == dimFlowTotals
		o.addCount(c)
	}))
	var r flowAtRiskRow
	b.Queue(storedFlowsAtRiskSQL, tenantID, limit).Query(eachRow([]any{&r.Position, &r.EnvironmentName,
		&r.EnvironmentDisplayName, &r.Name, &r.DisplayName, &r.State, &r.ExposedOwners, &r.DormantOwners},
		func() { o.addAtRisk(r) }))
	b.Queue(storedBrokenConnectionsSQL, tenantID, limit).Query(func(rows pgx.Rows) error {
		var c brokenRow
		_, err := pgx.ForEachRow(rows, []any{&c.Position, &c.Name, &c.Connector, &c.APIID, &c.Error, &c.OwnerID, &c.ViaOwner},
			func() error { return o.addBroken(c) })
		return err
	})
	b.Queue(storedOwnerNamesSQL, tenantID, limit).Query(func(rows pgx.Rows) error {
		return scanOwnerNames(rows, names)
	})
	var position int
	var nc ConnectionNotConnected
	b.Queue(storedNotConnectedSQL, tenantID, limit).Query(eachRow([]any{&position, &nc.EnvironmentName,
		&nc.EnvironmentDisplayName, &nc.Name, &nc.APIID, &nc.DisplayName, &nc.Status, &nc.Error, &nc.OwnerID,
		&nc.OwnerUPN, &nc.OwnerName, &nc.OwnerKnown}, func() { o.NotConnected = append(o.NotConnected, nc) }))
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return false, mapError(err, "flow overview")
	}
	o.Evaluated = stored
	return stored, nil
}

// computedFlowSummarySQL computes tenant $1's summary from its tables and
// returns what readFlowSummary reads ($2 rows of each list), as (list, position, row as JSON) rows, the flows
// at risk before their connections: one statement, so the summary is
// computed once.
const computedFlowSummarySQL = flowSummarySQL + `
SELECT 'count' AS list, 0 AS position,
	jsonb_build_object('dimension', dimension, 'key', key, 'count', count) AS row
FROM flow_counts
UNION ALL
(SELECT 'risk', position, to_jsonb(r) FROM flows_at_risk r ORDER BY position LIMIT $2)
UNION ALL
SELECT 'risk:broken', position, to_jsonb(b) FROM flow_broken_connections b WHERE position <= $2
UNION ALL
(SELECT 'conn', position, to_jsonb(c) FROM connections_not_connected c ORDER BY position LIMIT $2)
ORDER BY list, position`

// computeFlowSummary computes tenant's summary into o and the names of the
// listed owners into names (see FlowOverview).
func computeFlowSummary(ctx context.Context, tx *readTx, tenantID string, limit int, o *FlowOverview,
	names map[string]FlowOwner) error {
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM exposure_current WHERE tenant_id = $1)`,
		tenantID).Scan(&o.Evaluated); err != nil {
		return mapError(err, "current evaluation")
	}
	if _, err := tx.Exec(ctx, flowSettingsSQL); err != nil {
		return mapError(err, "flow overview settings")
	}
	if err := computeFlowRows(ctx, tx, tenantID, limit, o); err != nil {
		return err
	}
	return readOwnerNames(ctx, tx, tenantID, o.AtRisk, names)
}

// computeFlowRows runs computedFlowSummarySQL into o.
func computeFlowRows(ctx context.Context, tx *readTx, tenantID string, limit int, o *FlowOverview) error {
	rows, err := tx.Query(ctx, computedFlowSummarySQL, tenantID, limit)
	if err != nil {
		return mapError(err, "flow overview")
	}
	var list string
	var position int
	var js []byte
	_, err = pgx.ForEachRow(rows, []any{&list, &position, &js}, func() error {
		switch list {
		case "count":
			var c flowCountRow
			if err := json.Unmarshal(js, &c); err != nil {
				return err
			}
			o.addCount(c)
		case "risk":
			var r flowAtRiskRow
			if err := json.Unmarshal(js, &r); err != nil {
				return err
			}
			o.addAtRisk(r)
		case "risk:broken":
			var c brokenRow
			if err := json.Unmarshal(js, &c); err != nil {
				return err
			}
			return o.addBroken(c)
		case "conn":
			var c notConnectedRow
			if err := json.Unmarshal(js, &c); err != nil {
				return err
			}
			o.NotConnected = append(o.NotConnected, ConnectionNotConnected(c))
		}
		return nil
	})
	return mapError(err, "flow overview")
}

// flowCountRow, flowAtRiskRow, brokenRow and notConnectedRow are the
// summary's rows, as computedFlowSummarySQL returns them in JSON.
type flowCountRow struct {
	Dimension string `json:"dimension"`
	Key       string `json:"key"`
	Count     int    `json:"count"`
}

type flowAtRiskRow struct {
	Position               int      `json:"position"`
	EnvironmentName        string   `json:"environment_name"`
	EnvironmentDisplayName string   `json:"environment_display_name"`
	Name                   string   `json:"name"`
	DisplayName            string   `json:"display_name"`
	State                  string   `json:"state"`
	ExposedOwners          []string `json:"exposed_owners"`
	DormantOwners          []string `json:"dormant_owners"`
}

type brokenRow struct {
	Position  int    `json:"position"`
	Name      string `json:"name"`
	Connector string `json:"connector"`
	APIID     string `json:"api_id"`
	Error     string `json:"error_message"`
	OwnerID   string `json:"owner_id"`
	ViaOwner  bool   `json:"via_owner"`
}

type notConnectedRow struct {
	EnvironmentName        string `json:"environment_name"`
	EnvironmentDisplayName string `json:"environment_display_name"`
	Name                   string `json:"name"`
	APIID                  string `json:"api_id"`
	DisplayName            string `json:"display_name"`
	Status                 string `json:"overall_status"`
	Error                  string `json:"error_message"`
	OwnerID                string `json:"created_by_id"`
	OwnerUPN               string `json:"created_by_upn"`
	OwnerName              string `json:"owner_name"`
	OwnerKnown             bool   `json:"owner_known"`
}

// newFlowOverview is an empty overview with its owner groups.
func newFlowOverview() *FlowOverview {
	o := &FlowOverview{}
	for _, t := range OwnerTypes {
		o.Groups = append(o.Groups, FlowOwnerGroup{Type: t})
	}
	return o
}

// addCount sets one of the summary's counts.
func (o *FlowOverview) addCount(c flowCountRow) {
	var g *FlowOwnerGroup
	if i := slices.Index(OwnerTypes, c.Key); i >= 0 {
		g = &o.Groups[i]
	}
	switch {
	case c.Dimension == dimFlowTotals:
		switch c.Key {
		case totalEnvironments:
			o.Environments = c.Count
		case totalFlows:
			o.Flows = c.Count
		case totalConnections:
			o.Connections = c.Count
		case totalAtRisk:
			o.AtRiskTotal = c.Count
		case totalNotConnected:
			o.NotConnectedTotal = c.Count
		}
	case c.Dimension == dimConnStatus:
		o.ConnectionStatus = append(o.ConnectionStatus, ConnectionStatusCount{Status: c.Key, Count: c.Count})
	case g == nil:
	case c.Dimension == dimFlowsByOwner:
		g.Flows = c.Count
	case c.Dimension == dimFlowOwners:
		g.FlowOwners = c.Count
	case c.Dimension == dimConnsByOwner:
		g.Connections = c.Count
	case c.Dimension == dimConnOwners:
		g.ConnOwners = c.Count
	case c.Dimension == dimConnectedByOwner:
		g.Connected = c.Count
	case c.Dimension == dimInErrorByOwner:
		g.InError = c.Count
	}
}

// addAtRisk appends a flow at risk; its owners are named later.
func (o *FlowOverview) addAtRisk(r flowAtRiskRow) {
	f := FlowAtRisk{Position: r.Position, EnvironmentName: r.EnvironmentName, EnvironmentDisplayName: r.EnvironmentDisplayName,
		Name: r.Name, DisplayName: r.DisplayName, State: r.State}
	for _, id := range r.ExposedOwners {
		f.ExposedOwners = append(f.ExposedOwners, FlowOwner{ID: id})
	}
	for _, id := range r.DormantOwners {
		f.DormantOwners = append(f.DormantOwners, FlowOwner{ID: id})
	}
	o.AtRisk = append(o.AtRisk, f)
}

// addBroken adds a connection in error to the listed flow it belongs to.
func (o *FlowOverview) addBroken(c brokenRow) error {
	i, ok := slices.BinarySearchFunc(o.AtRisk, c.Position, func(f FlowAtRisk, p int) int { return cmp.Compare(f.Position, p) })
	if !ok {
		return fmt.Errorf("connection %s of flow at risk %d, which is not listed", c.Name, c.Position)
	}
	o.AtRisk[i].BrokenConnections = append(o.AtRisk[i].BrokenConnections, FlowBrokenConnection{Name: c.Name,
		Connector: c.Connector, APIID: c.APIID, Error: c.Error, OwnerID: c.OwnerID, ViaOwner: c.ViaOwner})
	return nil
}

// sort puts statuses most first, and each flow's connections by name.
func (o *FlowOverview) sort() {
	slices.SortFunc(o.ConnectionStatus, func(a, b ConnectionStatusCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Status, b.Status))
	})
	for _, f := range o.AtRisk {
		slices.SortFunc(f.BrokenConnections, func(a, b FlowBrokenConnection) int { return cmp.Compare(a.Name, b.Name) })
	}
}

// readOwnerNames reads the names of the listed flows' owners (a few
// hundred at most) from the current evaluation's accounts into names.
func readOwnerNames(ctx context.Context, tx *readTx, tenantID string, flows []FlowAtRisk, names map[string]FlowOwner) error {
	var ids []string
	for _, f := range flows {
		for _, w := range slices.Concat(f.ExposedOwners, f.DormantOwners) {
			ids = append(ids, w.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `
		SELECT account_id, display_name, upn, kind FROM exposure_accounts
		WHERE evaluation_id = `+currentEvaluationSQL+` AND account_id = ANY($2)`, tenantID, ids)
	if err != nil {
		return mapError(err, "flow owners")
	}
	return mapError(scanOwnerNames(rows, names), "flow owners")
}

// scanOwnerNames reads (account_id, display_name, upn, kind) rows into names.
func scanOwnerNames(rows pgx.Rows, names map[string]FlowOwner) error {
	var w FlowOwner
	_, err := pgx.ForEachRow(rows, []any{&w.ID, &w.DisplayName, &w.UPN, &w.Kind}, func() error {
		names[w.ID] = w
		return nil
	})
	return err
}

// nameOwners names the owners of the listed flows; an id names does not
// hold keeps only its id.
func (o *FlowOverview) nameOwners(names map[string]FlowOwner) {
	for _, f := range o.AtRisk {
		for _, ws := range [][]FlowOwner{f.ExposedOwners, f.DormantOwners} {
			for i := range ws {
				if n, ok := names[ws[i].ID]; ok {
					ws[i] = n
				}
			}
		}
	}
}
