// Package e2e holds Steward's browser end-to-end tests: a real Steward (the
// demo tenant served by the in-process emulator, synced through the Graph and
// Power Platform sources into a throwaway database) driven by Debian's
// headless Chromium through chromedp. It has no code outside its tests.
//
//	go test ./internal/web/e2e                                 # the walk through the dashboard
//	go test ./internal/web/e2e -run TestScreenshots -screenshots # rewrite docs/screenshots/*.png
package e2e
