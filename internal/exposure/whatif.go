package exposure

import "strings"

// WhatIf is the `whatif --json` contract of EXPOSURE.md §9. Field names and
// values are the contract: tools outside Steward read them.
type WhatIf struct {
	Account   WhatIfAccount    `json:"account"`
	Exposure  Level            `json:"exposure"`
	Workload  Workload         `json:"workload,omitempty"`
	Resources []WhatIfResource `json:"resources"`
	Findings  []WhatIfFinding  `json:"findings"`
}

// WhatIfAccount identifies the account.
type WhatIfAccount struct {
	ID             string               `json:"id"`
	UPN            string               `json:"upn"`
	Kind           Kind                 `json:"kind"`
	ServiceAccount WhatIfServiceAccount `json:"serviceAccount"`
}

// WhatIfServiceAccount is the classification.
type WhatIfServiceAccount struct {
	Level   ServiceAccountLevel `json:"level"`
	Signals []string            `json:"signals"`
}

// WhatIfResource is one resource's verdict.
type WhatIfResource struct {
	AppID    string         `json:"appId"`
	Name     string         `json:"name"`
	Verdict  Verdict        `json:"verdict"`
	Policies []WhatIfPolicy `json:"policies"`
}

// WhatIfPolicy is one policy's effect on the resource.
type WhatIfPolicy struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	State      string   `json:"state"`
	Effect     Effect   `json:"effect"`
	Path       string   `json:"path"`
	Conditions []string `json:"conditions"`
}

// WhatIfFinding is one finding.
type WhatIfFinding struct {
	Code     string         `json:"code"`
	Severity Severity       `json:"severity"`
	Message  string         `json:"message"`
	Evidence map[string]any `json:"evidence"`
}

// WhatIf renders the account in the contract's shape. With appID set, only
// that resource is listed (it is evaluated even when outside the catalog:
// see Evaluation.Explain).
func (a *Account) WhatIf() WhatIf {
	w := WhatIf{
		Account: WhatIfAccount{ID: a.ID, UPN: a.UPN, Kind: a.Kind,
			ServiceAccount: WhatIfServiceAccount{Level: a.ServiceAccount.Level, Signals: []string{}}},
		Exposure:  a.Exposure,
		Workload:  a.Workload,
		Resources: []WhatIfResource{},
		Findings:  []WhatIfFinding{},
	}
	for _, s := range a.ServiceAccount.Signals {
		w.Account.ServiceAccount.Signals = append(w.Account.ServiceAccount.Signals, s.Detail)
	}
	for _, r := range a.Resources {
		wr := WhatIfResource{AppID: r.AppID, Name: r.Name, Verdict: r.Verdict, Policies: []WhatIfPolicy{}}
		for _, p := range r.Policies {
			cond := p.Conditions
			if cond == nil {
				cond = []string{}
			}
			wr.Policies = append(wr.Policies, WhatIfPolicy{ID: p.ID, Name: p.Name, State: p.State, Effect: p.Effect, Path: p.Path, Conditions: cond})
		}
		w.Resources = append(w.Resources, wr)
	}
	for _, f := range a.Findings {
		ev := f.Evidence
		if ev == nil {
			ev = map[string]any{}
		}
		msg := f.Message
		if f.Remediation != "" {
			msg = strings.TrimSuffix(msg, ".") + ". " + f.Remediation
		}
		w.Findings = append(w.Findings, WhatIfFinding{Code: f.Code, Severity: f.Severity, Message: msg, Evidence: ev})
	}
	return w
}
