package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// BEGIN README verify-go
// verifyWebhook returns the body of a genuine, fresh delivery.
func verifyWebhook(r *http.Request, secret string) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	ts := r.Header.Get("X-SMA-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return nil, errors.New("stale or missing X-SMA-Timestamp")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := "v1=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(r.Header.Get("X-SMA-Signature")), []byte(want)) {
		return nil, errors.New("bad X-SMA-Signature")
	}
	return body, nil // then skip it if X-SMA-Event-Id was seen before
}

// END README verify-go

// readmeBlock returns the code block after the marker in the api README.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- "+marker+" -->\n")
	if !ok {
		t.Fatalf("README has no %s block", marker)
	}
	_, rest, _ = strings.Cut(rest, "\n") // the ``` line
	code, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("README's %s block does not end", marker)
	}
	return code
}

// The README's Go example is this file's verifyWebhook, and it accepts a
// real delivery and refuses a tampered or stale one.
func TestREADMEGoVerification(t *testing.T) {
	src, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, mine, _ := strings.Cut(string(src), "// BEGIN README verify-go\n")
	mine, _, _ = strings.Cut(mine, "\n// END README verify-go")
	if got := readmeBlock(t, "verify-go"); strings.TrimSpace(got) != strings.TrimSpace(mine) {
		t.Fatalf("the README's Go example differs from verifyWebhook in readme_test.go:\n%s", got)
	}

	type delivery struct {
		hdr  http.Header
		body []byte
	}
	got := make(chan delivery, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), b}
	}))
	defer srv.Close()
	s := openStore(t, nil)
	const secret = "whsec_readme_example_secret"
	if _, err := s.CreateWebhook(context.Background(), store.WebhookRequest{URL: srv.URL, Secret: secret}); err != nil {
		t.Fatal(err)
	}
	run(t, Config{Store: s})
	appendN(t, s, 1)
	d := <-got
	req := func(body []byte, h http.Header) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		r.Header = h
		return r
	}
	if b, err := verifyWebhook(req(d.body, d.hdr), secret); err != nil || string(b) != string(d.body) {
		t.Fatalf("a real delivery: %v", err)
	}
	if _, err := verifyWebhook(req(append([]byte(" "), d.body...), d.hdr), secret); err == nil {
		t.Fatal("a tampered body verified")
	}
	if _, err := verifyWebhook(req(d.body, d.hdr), "another-secret-12345"); err == nil {
		t.Fatal("another secret verified")
	}
	old := d.hdr.Clone()
	ts := time.Now().Add(-10 * time.Minute).Unix()
	old.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	old.Set(HeaderSignature, Sign(secret, ts, d.body))
	if _, err := verifyWebhook(req(d.body, old), secret); err == nil {
		t.Fatal("a stale delivery verified")
	}
}

// The README's shell example, run with openssl, gives the signature the
// api sends.
func TestREADMEShellVerification(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	script := readmeBlock(t, "verify-sh")
	dir := t.TempDir()
	body := []byte(`{"id":"evt_x","seq":7,"type":"sms.received","time":"2026-01-01T00:00:00Z","data":{"message":{"text":"ä €"}}}`)
	if err := os.WriteFile(filepath.Join(dir, "body.json"), body, 0o600); err != nil {
		t.Fatal(err)
	}
	const secret = "whsec_shell_example_secret"
	ts := time.Now().Unix()
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TS="+strconv.FormatInt(ts, 10), "SECRET="+secret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), Sign(secret, ts, body); got != want {
		t.Fatalf("shell example: %q, want %q", got, want)
	}
}
