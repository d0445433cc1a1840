package web_test

import (
	"testing"
)

// TestDemoFixture_loadsAndEvaluates: the shared fixture imports the demo
// tenant and stores its evaluation.
func TestDemoFixture_loadsAndEvaluates(t *testing.T) {
	tenant := demoTenant(t)
	cur, err := testDB.CurrentEvaluation(t.Context(), tenant)
	if err != nil || cur.Accounts < 300 {
		t.Fatalf("current evaluation %+v, %v", cur, err)
	}
}
