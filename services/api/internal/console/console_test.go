package console

import (
	"io"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func get(t *testing.T, app *fiber.App, path, etag string) (int, map[string]string, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{}
	for k := range resp.Header {
		h[k] = resp.Header.Get(k)
	}
	return resp.StatusCode, h, string(b)
}

// TestServesEveryFileWithSecurityHeaders fetches the page and every asset
// it references, as a browser would.
func TestServesEveryFileWithSecurityHeaders(t *testing.T) {
	app := fiber.New()
	if err := Register(app); err != nil {
		t.Fatal(err)
	}
	code, h, page := get(t, app, "/", "")
	if code != 200 || !strings.HasPrefix(h["Content-Type"], "text/html") {
		t.Fatalf("GET /: %d %q", code, h["Content-Type"])
	}
	refs := regexp.MustCompile(`(?:src|href)="(/console/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("the page references %d assets: %v", len(refs), refs)
	}
	wantType := map[string]string{".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
	for _, p := range append([]string{"/"}, func() (ps []string) {
		for _, r := range refs {
			ps = append(ps, r[1])
		}
		return
	}()...) {
		code, h, _ := get(t, app, p, "")
		if code != 200 {
			t.Errorf("GET %s: %d", p, code)
			continue
		}
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(h["Content-Security-Policy"], want) {
				t.Errorf("GET %s: Content-Security-Policy %q lacks %q", p, h["Content-Security-Policy"], want)
			}
		}
		if strings.Contains(h["Content-Security-Policy"], "unsafe") {
			t.Errorf("GET %s: Content-Security-Policy allows unsafe sources: %q", p, h["Content-Security-Policy"])
		}
		if h["X-Content-Type-Options"] != "nosniff" || h["Referrer-Policy"] != "no-referrer" || h["X-Frame-Options"] != "DENY" {
			t.Errorf("GET %s: headers %v", p, h)
		}
		for ext, typ := range wantType {
			if strings.HasSuffix(p, ext) && !strings.HasPrefix(h["Content-Type"], typ) {
				t.Errorf("GET %s: Content-Type %q, want %s", p, h["Content-Type"], typ)
			}
		}
		if c, _, _ := get(t, app, p, h["Etag"]); c != 304 {
			t.Errorf("GET %s with its ETag: %d, want 304", p, c)
		}
	}
	if code, _, _ := get(t, app, "/console/nope.js", ""); code != 404 {
		t.Errorf("GET /console/nope.js: %d", code)
	}
}

// TestNoInlineCodeNoHTMLSinks keeps the files within the policy and the
// rule that network text is only ever set as text: no inline script or
// style (the policy would block them), and no HTML-parsing sinks or eval
// in the script.
func TestNoInlineCodeNoHTMLSinks(t *testing.T) {
	files, err := loadFiles()
	if err != nil {
		t.Fatal(err)
	}
	page := string(files["/"].body)
	if m := regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]+</script>|<style|\sstyle=|\son[a-z]+=|javascript:`).FindString(page); m != "" {
		t.Errorf("index.html has inline code or style: %q", m)
	}
	var js string
	for name, f := range files {
		if strings.HasSuffix(name, ".js") {
			js += string(f.body)
		}
	}
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute(\"style\"", "localStorage", "document.cookie"} {
		if strings.Contains(js, sink) {
			t.Errorf("console.js uses %s", sink)
		}
	}
	total := 0
	for _, f := range files {
		total += len(f.body)
	}
	if total > 64<<10 {
		t.Errorf("the console's files are %d bytes; keep them under 64 KiB (the api image's 26 MB budget)", total)
	}
}
