-- The flows page (/flows) and the policies list (/policies) must stay fast on
-- a 100,000-user tenant, but what they show depends on every flow, flow
-- permission and connection (30,000 + 47,000 + 40,000 rows), on every
-- exclusion of the evaluation, and on every policy's JSON decoded and
-- summarised with the names of what it references. So SaveEvaluation
-- computes it once, in the transaction that makes the evaluation current,
-- keyed by the evaluation: it is switched in with the evaluation and never
-- describes another one.
--
-- The counts live in exposure_aggregates (kept for trends, like the other
-- aggregates): dimensions flowTotals, flowsByOwner, flowOwnersByType,
-- connectionsByOwner, connectionOwnersByType, connectedByOwner,
-- inErrorByOwner, connectionStatus and policyExcludedServiceAccounts (key:
-- the policy id). The tables below are rows of the evaluation, deleted
-- with its other rows when it is replaced.

-- Flows at risk (an owner exposed, a connection in error, an owner dormant),
-- numbered in the page's order: exposed owners first, then connections in
-- error, then by name. position is the keyset of the list; the primary key
-- serves any page of it.
CREATE TABLE exposure_flows_at_risk (
    evaluation_id            bigint NOT NULL REFERENCES exposure_evaluations (id) ON DELETE CASCADE,
    position                 integer NOT NULL,
    environment_name         text NOT NULL,
    environment_display_name text NOT NULL,
    name                     text NOT NULL,
    display_name             text NOT NULL,
    state                    text NOT NULL,
    exposed_owners           text[] NOT NULL,
    dormant_owners           text[] NOT NULL,
    PRIMARY KEY (evaluation_id, position)
);

-- The connections in error of each flow at risk (by its position): the
-- ones it references, or, when it lists no references, its owners' in its
-- environment (via_owner).
CREATE TABLE exposure_flow_broken_connections (
    evaluation_id bigint NOT NULL REFERENCES exposure_evaluations (id) ON DELETE CASCADE,
    position      integer NOT NULL,
    name          text NOT NULL,
    connector     text NOT NULL, -- the connector's display name, from the flow's reference
    api_id        text NOT NULL,
    error_message text NOT NULL,
    owner_id      text NOT NULL,
    via_owner     boolean NOT NULL
);
CREATE INDEX exposure_flow_broken_connections_flow ON exposure_flow_broken_connections (evaluation_id, position);

-- Connections whose status is not Connected, numbered by owner UPN and name.
CREATE TABLE exposure_connections_not_connected (
    evaluation_id            bigint NOT NULL REFERENCES exposure_evaluations (id) ON DELETE CASCADE,
    position                 integer NOT NULL,
    environment_name         text NOT NULL,
    environment_display_name text NOT NULL,
    name                     text NOT NULL,
    api_id                   text NOT NULL,
    display_name             text NOT NULL,
    overall_status           text NOT NULL,
    error_message            text NOT NULL,
    created_by_id            text NOT NULL,
    created_by_upn           text NOT NULL,
    -- The owner as the evaluation knows it (owner_known false: not in it).
    owner_name               text NOT NULL,
    owner_known              boolean NOT NULL,
    PRIMARY KEY (evaluation_id, position)
);

-- Each live policy in one sentence (exposure.SummarizePolicy), with the
-- names the directory had when the evaluation was stored, for the content
-- summarised: a policy whose content changed since has no summary here.
CREATE TABLE exposure_policy_summaries (
    evaluation_id bigint NOT NULL REFERENCES exposure_evaluations (id) ON DELETE CASCADE,
    policy_id     text NOT NULL,
    content_hash  text NOT NULL,
    summary       text NOT NULL,
    PRIMARY KEY (evaluation_id, policy_id)
);

-- Excluded service accounts per policy, for the evaluations already current
-- (what policyExclusionCountsSQL in internal/store stores with each new
-- one). Their policy and flow summaries are computed by the pages
-- themselves until the next evaluation stores them.
INSERT INTO exposure_aggregates (evaluation_id, dimension, key, count)
SELECT e.evaluation_id, 'policyExcludedServiceAccounts', e.policy_id, count(DISTINCT e.account_id)
FROM exposure_current c
JOIN exposure_exclusions e ON e.evaluation_id = c.evaluation_id
CROSS JOIN LATERAL (SELECT sa_level FROM exposure_accounts
    WHERE evaluation_id = e.evaluation_id AND account_id = e.account_id LIMIT 1) a
WHERE e.via <> 'app' AND a.sa_level IN ('confirmed', 'likely')
GROUP BY e.evaluation_id, e.policy_id;
