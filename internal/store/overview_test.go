package store_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/steward-dev/steward/internal/derr"
	"github.com/steward-dev/steward/internal/exposure"
)

// TestOverview stores a hand-made evaluation whose counts are known and
// checks what Overview counts: the aggregates, the user service accounts by
// level and exposure, accounts (not findings) per code, the accounts with
// any secret finding counted once, and each code's highest severity.
func TestOverview(t *testing.T) {
	ctx := context.Background()
	tenant := "0000000a-0000-4000-8000-00000000face"
	if _, err := testDB.Overview(ctx, tenant); derr.Code(err) != derr.ENOTFOUND {
		t.Fatalf("Overview of a tenant never evaluated: %v, want ENOTFOUND", err)
	}
	if err := testDB.EnsureTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}

	finding := func(code string, sev exposure.Severity) exposure.Finding {
		return exposure.Finding{Code: code, Severity: sev, Message: code}
	}
	var accounts []*exposure.Account
	add := func(kind exposure.Kind, level exposure.ServiceAccountLevel, exp exposure.Level, fs ...exposure.Finding) {
		accounts = append(accounts, &exposure.Account{
			ID: fmt.Sprintf("acct-%03d", len(accounts)), Kind: kind, Enabled: true,
			ServiceAccount: exposure.Classification{Level: level}, Exposure: exp, Findings: fs,
		})
	}
	user, sp, mi := exposure.KindUser, exposure.KindServicePrincipal, exposure.KindManagedIdentity
	add(user, exposure.ServiceConfirmed, exposure.LevelExposed,
		finding(exposure.CodeMFAFailures, exposure.SeverityHigh), finding(exposure.CodePrivilegedUserServiceAccount, exposure.SeverityHigh),
		finding(exposure.CodeExcludedFromMFA, exposure.SeverityHigh), finding(exposure.CodeExcludedFromMFA, exposure.SeverityHigh))
	add(user, exposure.ServiceConfirmed, exposure.LevelExposed, finding(exposure.CodeExcludedFromMFA, exposure.SeverityLow))
	add(user, exposure.ServiceConfirmed, exposure.LevelProtected)
	add(user, exposure.ServiceLikely, exposure.LevelPartial, finding(exposure.CodeMFAFailures, exposure.SeverityHigh))
	add(user, exposure.ServiceLikely, exposure.LevelNotApplicable)
	add(user, exposure.ServicePossible, exposure.LevelExposed, finding(exposure.CodeMFAFailures, exposure.SeverityHigh)) // not a service account here
	add(user, exposure.ServiceNo, exposure.LevelProtected, finding(exposure.CodeDormant, exposure.SeverityLow), finding(exposure.CodeUnknownReference, exposure.SeverityInfo))
	add(sp, exposure.ServiceConfirmed, exposure.LevelPartial,
		finding(exposure.CodeSecretLongLived, exposure.SeverityMedium), finding(exposure.CodeSecretExpired, exposure.SeverityLow))
	add(sp, exposure.ServiceConfirmed, exposure.LevelNotApplicable, finding(exposure.CodeSecretExpiring, exposure.SeverityMedium))
	add(sp, exposure.ServiceConfirmed, exposure.LevelExposed) // a workload identity: not a user service account
	add(mi, exposure.ServiceConfirmed, exposure.LevelNotApplicable)

	ev := &exposure.Evaluation{TenantID: tenant, EvaluatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Accounts: accounts, Notes: []string{"a note"}}
	if _, err := testDB.SaveEvaluation(ctx, tenant, 0, ev, time.Second); err != nil {
		t.Fatal(err)
	}
	id, err := testDB.SaveEvaluation(ctx, tenant, 0, ev, time.Second)
	if err != nil {
		t.Fatal(err)
	}

	o, err := testDB.Overview(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if o.Evaluation.ID != id || o.Evaluation.Accounts != len(accounts) || len(o.Evaluation.Notes) != 1 {
		t.Errorf("Evaluation = %+v, want the second one (%d) with %d accounts and its note", o.Evaluation, id, len(accounts))
	}
	for key, want := range map[string]int{
		"exposure/exposed": 4, "exposure/protected": 2, "kind/user": 7, "serviceAccount/user/confirmed": 3,
		"finding/" + exposure.CodeExcludedFromMFA: 3, "severity/high": 6,
	} {
		if got := o.Counts[key]; got != want {
			t.Errorf("Counts[%s] = %d, want %d", key, got, want)
		}
	}
	wantSA := map[string]int{"confirmed/exposed": 2, "confirmed/protected": 1, "likely/partial": 1, "likely/notApplicable": 1}
	if !maps.Equal(o.UserServiceAccounts, wantSA) {
		t.Errorf("UserServiceAccounts = %v, want %v", o.UserServiceAccounts, wantSA)
	}
	wantWith := map[string]int{exposure.CodeMFAFailures: 3, exposure.CodePrivilegedUserServiceAccount: 1,
		exposure.CodeSecretLongLived: 1, exposure.CodeSecretExpired: 1, exposure.CodeSecretExpiring: 1}
	if !maps.Equal(o.AccountsWith, wantWith) {
		t.Errorf("AccountsWith = %v, want %v", o.AccountsWith, wantWith)
	}
	if o.SecretAccounts != 2 {
		t.Errorf("SecretAccounts = %d, want 2 (one service principal with two secret findings, one with one)", o.SecretAccounts)
	}
	wantSev := map[string]exposure.Severity{
		exposure.CodeMFAFailures: exposure.SeverityHigh, exposure.CodePrivilegedUserServiceAccount: exposure.SeverityHigh,
		exposure.CodeExcludedFromMFA: exposure.SeverityHigh, exposure.CodeDormant: exposure.SeverityLow,
		exposure.CodeUnknownReference: exposure.SeverityInfo, exposure.CodeSecretLongLived: exposure.SeverityMedium,
		exposure.CodeSecretExpired: exposure.SeverityLow, exposure.CodeSecretExpiring: exposure.SeverityMedium,
	}
	if !maps.Equal(o.Severest, wantSev) {
		t.Errorf("Severest = %v, want %v", o.Severest, wantSev)
	}
}
