//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/services/api/pgtest"
	"github.com/sim-modem-api/sim-modem-api/simulator/control"
	"go.uber.org/goleak"
)

const (
	userKey  = "e2e-user-key-0123456789"
	adminKey = "e2e-admin-key-0123456789"
)

var binDir string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		var err error
		if onPostgres, err = parseTestDatabase(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 2
		}
		defer func() {
			if err := stopPostgres(); err != nil {
				fmt.Fprintln(os.Stderr, "e2e: stopping PostgreSQL:", err)
			}
		}()
		if onPostgres {
			// At once: a run against PostgreSQL without it skips as a
			// whole, or fails under CI.
			if _, err := startPostgres(); errors.Is(err, pgtest.ErrNotInstalled) && os.Getenv("CI") == "" {
				fmt.Fprintf(os.Stderr, "e2e: %v: skipping the run with %s=postgres\n", err, testDatabaseEnv)
				return 0
			} else if err != nil {
				fmt.Fprintln(os.Stderr, "e2e:", err)
				return 1
			}
		}
		dir, err := os.MkdirTemp("", "e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binDir = dir
		root, _ := filepath.Abs("../..")
		cmd := exec.Command("go", "build", "-o", dir+"/",
			"./simulator/cmd/simulator", "./services/relay/cmd/relay", "./services/api/cmd/api")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: building the binaries: %v\n%s", err, out)
			return 1
		}
		code := m.Run()
		if err := stopPostgres(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: stopping PostgreSQL:", err)
			code = 1
		}
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, "goleak:", err)
				return 1
			}
		}
		return code
	}())
}

// proc is a running binary.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *lockedWriter
	log  string
	done chan struct{}
}

func start(t testing.TB, dir, name string, env []string, args ...string) *proc {
	t.Helper()
	return startAs(t, dir, name, name, env, args...)
}

// startAs starts the binary bin under another name (its log file's and
// in messages): one of several simulators or relays.
func startAs(t testing.TB, dir, bin, name string, env []string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, out: &lockedWriter{b: &bytes.Buffer{}}, log: logPath, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(binDir, bin), args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = io.MultiWriter(f, p.out)
	p.cmd.Stderr = f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop stops the process with SIGTERM unless it has exited (or was
// killed) already; when the test failed it shows the end of its log.
func (p *proc) stop(t testing.TB) {
	select {
	case <-p.done:
	default:
		p.term(t)
	}
	if t.Failed() {
		b, _ := os.ReadFile(p.log)
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		t.Logf("--- %s log (tail) ---\n%s", p.name, b)
	}
}

func (p *proc) term(t testing.TB) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("%s exited with %d after SIGTERM", p.name, code)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("%s did not stop on SIGTERM; killing it", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

type lockedWriter struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// handedOut are the addresses freeAddr returned: the kernel may give a
// port that was free and closed again to the next listener on port 0, so
// that two processes of one stack would be told the same one.
var handedOut struct {
	sync.Mutex
	addrs map[string]bool
}

// freeAddr returns a loopback address that was free and that it has not
// returned before.
func freeAddr(t testing.TB) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.addrs == nil {
		handedOut.addrs = map[string]bool{}
	}
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if !handedOut.addrs[addr] {
			handedOut.addrs[addr] = true
			return addr
		}
	}
}

// stack is simulator + relay + api on loopback.
type stack struct {
	t                      testing.TB
	dir, link              string
	ctl, relayAddr, relayM string
	api, apiM              string // the API port, the metrics listener
	sim, relay, apiProc    *proc
	client                 *http.Client
	apiEnv                 []string
	relayEnv               []string // extra RELAY_* settings, kept across restarts
	key                    string   // an admin key
}

type stackOpts struct {
	apiEnv   []string // extra API_* settings
	relayEnv []string // extra RELAY_* settings
	simArgs  []string
	noKeys   bool
	engine   string // the api's database: "sqlite", "postgres", or "" for the run's (API_TEST_DATABASE)
}

func newStack(t testing.TB, o stackOpts) *stack {
	t.Helper()
	dir := t.TempDir()
	s := &stack{t: t, dir: dir, link: filepath.Join(dir, "ttyUSB2"), ctl: freeAddr(t), relayAddr: freeAddr(t), relayM: freeAddr(t), api: freeAddr(t), apiM: freeAddr(t), relayEnv: o.relayEnv}
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	s.client = &http.Client{Transport: tr, Timeout: 60 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	s.sim = start(t, dir, "simulator", nil, append([]string{"--link", s.link, "--control", s.ctl, "--log-level", "warn"}, o.simArgs...)...)
	s.waitHTTP("http://" + s.ctl + "/healthz")
	s.startRelay()
	s.apiEnv = []string{
		"API_LISTEN=" + s.api, "API_METRICS_LISTEN=" + s.apiM, "API_RELAY_ADDR=" + s.relayAddr, "API_DATA_DIR=" + filepath.Join(dir, "data"),
		"API_SMS_PACING=0", "API_POLL_INTERVAL=200ms", "API_RECONNECT_MIN=20ms", "API_RECONNECT_MAX=300ms",
		"API_QUEUE_SIZE=512", "API_DEFAULT_COUNTRY=43", "API_LOG_LEVEL=info",
	}
	if !o.noKeys {
		s.apiEnv = append(s.apiEnv, "API_KEYS="+userKey, "API_ADMIN_KEYS="+adminKey)
	}
	s.apiEnv = append(append(s.apiEnv, engineEnv(t, o.engine)...), o.apiEnv...)
	s.apiProc = start(t, dir, "api", s.apiEnv)
	s.key = adminKey
	if o.noKeys {
		s.key = s.generatedKey()
	}
	s.waitReady()
	checkAPIDatabase(t, s.apiEnv)
	return s
}

func (s *stack) startRelay() {
	s.relay = start(s.t, s.dir, "relay", append([]string{"RELAY_DEVICE=" + s.link, "RELAY_LISTEN=" + s.relayAddr, "RELAY_METRICS_LISTEN=" + s.relayM}, s.relayEnv...))
	s.waitHTTP("http://" + s.relayM + "/healthz")
}

// waitHTTP waits (up to 20 s) until url answers 200.
func (s *stack) waitHTTP(url string) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := s.client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s did not answer 200 within 20 s: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitReady waits until the api is ready and has polled the modem once.
func (s *stack) waitReady() {
	s.t.Helper()
	s.waitHTTP("http://" + s.api + "/readyz")
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st struct {
			Reachable bool `json:"reachable"`
		}
		if code := s.call("GET", "/v1/modem/status", s.key, "", &st); code == 200 && st.Reachable {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatal("the api did not poll the modem within 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// call sends a request to the api and decodes the JSON answer into out
// (if not nil); it returns the status code.
func (s *stack) call(method, path, key, body string, out any) int {
	s.t.Helper()
	code, b := s.raw(method, "http://"+s.api+path, key, body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %d %v: %s", method, path, code, err, b)
		}
	}
	return code
}

func (s *stack) raw(method, url, key, body string) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// ctlCall calls the simulator's control API.
func (s *stack) ctlCall(method, path, body string, out any) {
	s.t.Helper()
	code, b := s.raw(method, "http://"+s.ctl+path, "", body)
	if code/100 != 2 {
		s.t.Fatalf("control %s %s: %d %s", method, path, code, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("control %s %s: %v", method, path, err)
		}
	}
}

func (s *stack) sent() []control.SentSMS {
	var out []control.SentSMS
	s.ctlCall("GET", "/sent", "", &out)
	return out
}

func (s *stack) transcript() []control.Exchange {
	var out []control.Exchange
	s.ctlCall("GET", "/transcript", "", &out)
	return out
}

func (s *stack) metrics() string {
	_, b := s.raw("GET", "http://"+s.apiM+"/metrics", "", "")
	return string(b)
}

// smsResp is the answer of POST /v1/sms (or an error).
type smsResp struct {
	ID        string `json:"id"`
	To        string `json:"to"`
	Encoding  string `json:"encoding"`
	PartCount int    `json:"partCount"`
	Parts     []struct {
		Seq       int `json:"seq"`
		Reference int `json:"reference"`
	} `json:"parts"`
	Code      string `json:"code"`
	Error     string `json:"error"`
	Fields    []struct{ Field, Message string }
	SentParts []struct {
		Seq       int `json:"seq"`
		Reference int `json:"reference"`
	} `json:"sentParts"`
	ModemError *struct {
		Type string `json:"type"`
		Code int    `json:"code"`
		Name string `json:"name"`
	} `json:"modemError"`
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (p *proc) stdout() string {
	p.out.mu.Lock()
	defer p.out.mu.Unlock()
	return p.out.b.String()
}

var keyLine = regexp.MustCompile(`(?m)^\s+(sma_[0-9a-f]+)$`)

// generatedKey waits for the api to print the key it generated.
func (s *stack) generatedKey() string {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := keyLine.FindStringSubmatch(s.apiProc.stdout()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the api printed no generated key: %q", s.apiProc.stdout())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
