package e2e_test

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var writeScreenshots = flag.Bool("screenshots", false, "TestScreenshots: rewrite docs/screenshots/*.png")

// browserTimeout bounds each test's whole conversation with the browser; the
// sync it starts must finish within syncTimeout of it.
const (
	browserTimeout = 2 * time.Minute
	syncTimeout    = 60 * time.Second
)

// TestDashboard_walkThrough is the walk through the dashboard, in a
// real browser on a real Steward: the overview, the exposed service
// accounts, one of them with its exclusion path, the policy behind it, and
// "Sync now" until the run succeeds.
func TestDashboard_walkThrough(t *testing.T) {
	chromium(t)
	s := startSteward(t)
	p := newPage(t, s.URL, browserTimeout)

	// The overview: its heading, tiles and charts.
	p.open("/")
	if got := p.text("main h1"); got != "Overview" {
		t.Fatalf("overview heading %q", got)
	}
	tiles := p.texts("ul.tiles > li.tile h3")
	for _, want := range []string{"Service accounts", "User service accounts by exposure", "MFA failures now",
		"Privileged service accounts", "Service principals with secret findings"} {
		if !slices.Contains(tiles, want) {
			t.Errorf("overview tiles %q lack %q", tiles, want)
		}
	}
	if n := p.count("figure.chart svg.chart-svg"); n < 4 {
		t.Errorf("overview has %d charts, want 4", n)
	}
	if got := p.text(".ov-sync"); !strings.Contains(got, "Succeeded") {
		t.Errorf("overview's last sync says %q, want Succeeded", got)
	}

	// The accounts, filtered to the exposed service accounts with the
	// form, as a person would: tick "Exposed", apply.
	p.click("open Accounts from the navigation", `nav.site-nav a[href="/accounts"]`)
	const exposed = `fieldset input[type="checkbox"][name="exposure"][value="exposed"]`
	if legend := eval[string](p, "the exposure filter's legend",
		`document.querySelector('`+exposed+`').closest("fieldset").querySelector("legend").textContent`); strings.TrimSpace(legend) != "Exposure" {
		t.Errorf("the exposed checkbox is in the group %q, want Exposure", legend)
	}
	if label := eval[string](p, "the exposed checkbox's label",
		`document.querySelector('`+exposed+`').labels[0].textContent`); !strings.HasPrefix(strings.TrimSpace(label), "Exposed") {
		t.Errorf("the exposed checkbox is labelled %q", label)
	}
	p.do("tick Exposed", chromedp.Click(chromedp.CSS(exposed)))
	p.click("apply the filters", `form.account-filters button[type="submit"]`)
	if got := p.path(); !strings.Contains(got, "exposure=exposed") {
		t.Fatalf("the filtered list is at %q, want a URL with exposure=exposed", got)
	}
	if !eval[bool](p, "read the exposed checkbox", `document.querySelector('`+exposed+`').checked`) {
		t.Error("the filtered list's form does not show Exposed ticked")
	}
	rows := eval[[]struct {
		Name, Level, Exposure, Class string
	}](p, "read the rows", `Array.from(document.querySelectorAll("`+accountRows+`"), tr => ({
		Name: tr.querySelector("th a").textContent.trim(),
		Level: tr.cells[2].firstChild.textContent.trim(),
		Exposure: tr.querySelector("span.exposure").textContent.trim(),
		Class: tr.querySelector("span.exposure").className,
	}))`)
	if len(rows) == 0 {
		t.Fatal("no exposed service account listed")
	}
	for _, r := range rows {
		if r.Exposure != "Exposed" || !strings.Contains(r.Class, "exposure-exposed") {
			t.Errorf("%s: exposure %q (%s), want Exposed", r.Name, r.Exposure, r.Class)
		}
		if r.Level != "Likely" && r.Level != "Confirmed" {
			t.Errorf("%s: service account %q, want likely or confirmed (the default)", r.Name, r.Level)
		}
	}
	if heading := p.text("#results-title"); !strings.HasPrefix(heading, fmt.Sprint(len(rows))+" account") {
		t.Errorf("the list says %q and shows %d rows", heading, len(rows))
	}

	// The first of them, and the exclusion that explains its exposure.
	name := p.text(accountRowLinks)
	p.click("open "+name, accountRowLinks)
	if !regexp.MustCompile(`^/accounts/[^/?]+`).MatchString(p.path()) {
		t.Fatalf("the account link led to %s", p.path())
	}
	if got := p.text("h1#account-title"); got != name {
		t.Errorf("account heading %q, want %q", got, name)
	}
	exclusions := p.texts("ul.exclusions > li")
	i := slices.IndexFunc(exclusions, func(e string) bool {
		return strings.HasPrefix(e, "excluded from ") && strings.Contains(e, " via ")
	})
	if i < 0 {
		t.Fatalf("%s has no exclusion with its path: %q", name, exclusions)
	}
	path := exclusions[i]
	t.Logf("%s: %s", name, path)

	// The policy that excludes it.
	policyLink := chromedp.CSS(fmt.Sprintf(`ul.exclusions > li:nth-child(%d) a[href^="/policies/"]`, i+1))
	policy := p.text(policyLink)
	if !strings.HasPrefix(path, "excluded from "+policy+" via ") {
		t.Errorf("the exclusion's policy link says %q: %q", policy, path)
	}
	p.click("follow the policy link", policyLink)
	if !strings.HasPrefix(p.path(), "/policies/") {
		t.Fatalf("the policy link led to %s", p.path())
	}
	if got := p.text("main h1"); got != policy {
		t.Errorf("policy heading %q, want %q", got, policy)
	}
	if excluded := p.texts("#excluded tbody > tr"); !slices.ContainsFunc(excluded, func(row string) bool {
		return strings.Contains(row, name)
	}) {
		t.Errorf("%s does not list %s among the service accounts it excludes: %q", policy, name, excluded)
	}

	// Sync now, and watch the run finish: the page's script follows the
	// running run and reloads the page when a new one appears.
	p.click("open Sync from the navigation", `nav.site-nav a[href="/sync"]`)
	before, ok := newestRun(p)
	if !ok || before.status != "succeeded" {
		t.Fatalf("the sync page's newest run is %+v, want the demo's full run, succeeded", before)
	}
	p.click("press Sync now", syncNowButton)
	deadline := time.Now().Add(syncTimeout)
	for {
		// The page may be reloading: then the run cannot be read, yet.
		now, ok := newestRun(p)
		if ok && now.id > before.id && now.status == "succeeded" {
			if now.label != "Succeeded" {
				t.Errorf("run %d's status reads %q", now.id, now.label)
			}
			t.Logf("run %d, started by Sync now, succeeded within %s", now.id, syncTimeout-time.Until(deadline).Round(time.Millisecond))
			break
		}
		if ok && now.id > before.id && now.status != "running" {
			t.Fatalf("the run started by Sync now ended %q", now.status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s the newest run is %+v (before Sync now: run %d)", syncTimeout, now, before.id)
		}
		time.Sleep(250 * time.Millisecond)
	}

	if errs := p.browserErrors(); len(errs) > 0 {
		t.Errorf("the browser reported errors:\n%s", strings.Join(errs, "\n"))
	}
}

// TestScreenshots writes docs/screenshots/overview.png and account.png, at
// 1280×900, when run with -screenshots (see the README's Screenshots).
func TestScreenshots(t *testing.T) {
	if !*writeScreenshots {
		t.Skip("writes docs/screenshots only with -screenshots")
	}
	chromium(t)
	s := startSteward(t)
	p := newPage(t, s.URL, browserTimeout)
	dir := filepath.Join(moduleRoot(t), "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := func(name string) {
		t.Helper()
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, p.screenshot(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", file)
	}

	p.open("/")
	shot("overview.png")

	// An exposed user service account with flows, exclusions and findings.
	p.open("/accounts?exposure=exposed&q=" + url.QueryEscape("flow-finance@"))
	p.click("open the account", accountRowLinks)
	p.text("h1#account-title")
	shot("account.png")
}

// Selectors of the pages.
const (
	// accountRows are the rows of the accounts list, one per account.
	accountRows = `table.account-table > tbody > tr`
	// accountRowLinks are the links to the accounts' pages in those rows.
	accountRowLinks = `table.account-table > tbody > tr > th a[href^="/accounts/"]`
	// syncNowButton starts a sync on the sync page.
	syncNowButton = `form[method="post"] button.sync-now`
)

// run is a sync run as the sync page shows it.
type run struct {
	id     int64
	status string // the store's value, from the status's class
	label  string // what the page says
}

// newestRun reads the newest run on the sync page. ok is false when the page
// cannot be read (it is being reloaded) or shows no run.
func newestRun(p *page) (_ run, ok bool) {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[struct{ ID, Status, Label string }](`(() => {
		const d = document.querySelector("details.sync-run[data-run-id]");
		const s = d && d.querySelector("summary [data-field=status]");
		if (!s) return {ID: "", Status: "", Label: ""};
		const c = Array.from(s.classList).find(c => c.startsWith("status-")) || "";
		return {ID: d.dataset.runId, Status: c.slice("status-".length), Label: s.textContent.trim()};
	})()`))
	if err != nil || v.ID == "" {
		return run{}, false
	}
	id, err := strconv.ParseInt(v.ID, 10, 64)
	if err != nil {
		p.t.Fatalf("run id %q", v.ID)
	}
	return run{id: id, status: v.Status, label: v.Label}, true
}

// moduleRoot is the directory of go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}
