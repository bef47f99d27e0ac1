// Package browser tests the api's web console in a real browser: headless
// Chromium (Debian's chromium package), driven with chromedp, against the
// simulator, the relay and the api started as processes (as test/e2e
// does). Screenshots of every page go to BROWSER_SCREENSHOTS (default
// test/browser/screenshots/, ignored by git, kept by CI as artifacts);
// UPDATE_SCREENSHOT=1 also refreshes docs/console.png for the README.
//
// Without chromium on PATH (or at $CHROMIUM) the tests skip, or fail with
// CI=true.
package browser
