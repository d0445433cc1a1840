package e2e_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Window size of the browser, and so of the screenshots: the width the
// dashboard is designed for.
const (
	windowWidth  = 1280
	windowHeight = 900
)

// chromium returns the path of the system's Chromium. Without one the test
// fails in CI (CI=true: .ci/run installs Debian's chromium package) and is
// skipped elsewhere, saying how to install it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const msg = "the browser tests need Chromium, and there is no chromium on PATH (Debian: apt-get install chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// page is a tab of a headless Chromium, on one Steward. Its methods fail the
// test, saying what they were doing and where.
type page struct {
	t    *testing.T
	ctx  context.Context
	base string // Steward's root URL

	mu       gosync.Mutex
	problems []string // errors the browser reported: exceptions, CSP violations, failed loads
}

// newPage starts a headless Chromium with a fresh profile, closed when the
// test ends, and opens a tab on Steward at base. Every action is bounded by
// timeout.
func newPage(t *testing.T, base string, timeout time.Duration) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(windowWidth, windowHeight),
		chromedp.Flag("lang", "en-GB"),
		chromedp.Flag("hide-scrollbars", true), // screenshots the same everywhere
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	// Start the browser now, without the timeout (it would stop the
	// browser), so a broken installation fails here and clearly.
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(browserCtx, timeout)
	t.Cleanup(cancel)
	p := &page{t: t, ctx: ctx, base: base}
	// The window's size includes what headless Chromium counts as its
	// frame: the page's viewport is set exactly.
	p.do("set the viewport", chromedp.EmulateViewport(windowWidth, windowHeight))

	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				p.mu.Lock()
				p.problems = append(p.problems, fmt.Sprintf("%s (%s)", m, m.URL))
				p.mu.Unlock()
			}
		}
	}()
	return p
}

// browserErrors returns the errors the browser reported so far.
func (p *page) browserErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.problems...)
}

// do performs actions.
func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v (at %s)", what, err, p.location())
	}
}

// navigate performs actions that load a page (opening a URL, following a
// link, submitting a form), checks that it answered 200 and waits for it.
func (p *page) navigate(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	resp, err := chromedp.RunResponse(p.ctx, actions...)
	if err != nil {
		p.t.Fatalf("%s: %v (at %s)", what, err, p.location())
	}
	if resp.Status != 200 {
		p.t.Fatalf("%s: %s answered %d %s", what, resp.URL, resp.Status, resp.StatusText)
	}
	p.do(what+": wait for the page", chromedp.WaitReady(chromedp.CSS("body > footer")))
}

// open loads a path of Steward.
func (p *page) open(path string) {
	p.t.Helper()
	p.navigate("open "+path, chromedp.Navigate(p.base+path))
}

// click follows the link (or presses the button) sel and waits for the page
// it loads.
func (p *page) click(what string, sel chromedp.CSS) {
	p.t.Helper()
	p.navigate(what, chromedp.WaitVisible(sel), chromedp.Click(sel))
}

// location is the tab's current URL, for failure messages.
func (p *page) location() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return u
}

// path is the tab's current path and query.
func (p *page) path() string {
	p.t.Helper()
	u, err := chromedp.Run(p.ctx, chromedp.Location())
	if err != nil {
		p.t.Fatalf("read the location: %v", err)
	}
	return strings.TrimPrefix(u, p.base)
}

// text returns the visible text of the first element sel matches, its
// white space collapsed; it waits for the element to be visible.
func (p *page) text(sel chromedp.CSS) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(sel, chromedp.NodeVisible))
	if err != nil {
		p.t.Fatalf("read the text of %s: %v (at %s)", sel, err, p.location())
	}
	return strings.Join(strings.Fields(s), " ")
}

// eval evaluates a JavaScript expression and decodes its value.
func eval[T any](p *page, what, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("%s: %v (at %s)", what, err, p.location())
	}
	return v
}

// texts returns the text of every element sel matches, white space collapsed.
func (p *page) texts(sel string) []string {
	p.t.Helper()
	return eval[[]string](p, "read "+sel, fmt.Sprintf(
		`Array.from(document.querySelectorAll(%q), e => e.textContent.replace(/\s+/g, " ").trim())`, sel))
}

// count is how many elements sel matches.
func (p *page) count(sel string) int {
	p.t.Helper()
	return eval[int](p, "count "+sel, fmt.Sprintf(`document.querySelectorAll(%q).length`, sel))
}

// screenshot returns a PNG of the window (not the whole page).
func (p *page) screenshot() []byte {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot: %v (at %s)", err, p.location())
	}
	return png
}
