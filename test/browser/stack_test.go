//go:build linux

package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The keys of the stack's api.
const (
	userKey  = "browser-user-key-0123456789"
	adminKey = "browser-admin-key-0123456789"
)

var (
	binDir      string
	chromiumBin string // "" when not installed
)

// findChromium is $CHROMIUM, or chromium (Debian) or chromium-browser on PATH.
func findChromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

func TestMain(m *testing.M) {
	os.Exit(func() int {
		chromiumBin = findChromium()
		if chromiumBin == "" {
			if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
				fmt.Fprintln(os.Stderr, "browser: chromium is not installed (Debian: apt-get install chromium; or set CHROMIUM to the binary); CI is set, so this is a failure")
				return 1
			}
			fmt.Fprintln(os.Stderr, "browser: chromium is not installed (Debian: apt-get install chromium); skipping the browser tests")
			return m.Run() // every test skips
		}
		dir, err := os.MkdirTemp("", "browser-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		binDir = dir
		root, _ := filepath.Abs("../..")
		cmd := exec.Command("go", "build", "-o", dir+"/", "./simulator/cmd/simulator", "./services/relay/cmd/relay", "./services/api/cmd/api")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "browser: building the binaries: %v\n%s", err, out)
			return 1
		}
		code := m.Run()
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, "goleak:", err)
				return 1
			}
		}
		return code
	}())
}

// proc is a running binary, stopped with SIGTERM at the test's end.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func start(t *testing.T, dir, name string, env []string, args ...string) *proc {
	t.Helper()
	return startAs(t, dir, name, name, env, args...)
}

// startAs starts the binary bin under another name (its log's), for a
// second process of the same binary.
func startAs(t *testing.T, dir, bin, name string, env []string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, log: logPath, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(binDir, bin), args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *proc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
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
	if t.Failed() {
		b, _ := os.ReadFile(p.log)
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		t.Logf("--- %s log (tail) ---\n%s", p.name, b)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// stack is simulator + relay + api on loopback.
type stack struct {
	t         *testing.T
	dir       string
	ctl, api  string // the simulator's control API, the api
	client    *http.Client
	transport *http.Transport
	apiEnv    []string
	apiProc   *proc
}

func newStack(t *testing.T) *stack {
	t.Helper()
	dir := t.TempDir()
	link := filepath.Join(dir, "ttyUSB2")
	relayAddr, relayM := freeAddr(t), freeAddr(t)
	tr := &http.Transport{}
	s := &stack{t: t, ctl: freeAddr(t), api: freeAddr(t), transport: tr, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	t.Cleanup(tr.CloseIdleConnections)
	start(t, dir, "simulator", nil, "--link", link, "--control", s.ctl, "--log-level", "warn")
	s.waitHTTP("http://" + s.ctl + "/healthz")
	start(t, dir, "relay", []string{"RELAY_DEVICE=" + link, "RELAY_LISTEN=" + relayAddr, "RELAY_METRICS_LISTEN=" + relayM})
	s.waitHTTP("http://" + relayM + "/healthz")
	s.dir = dir
	s.apiEnv = []string{
		"API_LISTEN=" + s.api, "API_METRICS_LISTEN=off", "API_RELAY_ADDR=" + relayAddr, "API_DATA_DIR=" + filepath.Join(dir, "data"),
		"API_SMS_PACING=0", "API_POLL_INTERVAL=300ms", "API_RECONNECT_MIN=20ms", "API_RECONNECT_MAX=300ms",
		"API_DEFAULT_COUNTRY=43", "API_INBOX_SWEEP=1s", "API_INBOX_INCOMPLETE_AFTER=2s", "API_KEYS=" + userKey, "API_ADMIN_KEYS=" + adminKey,
	}
	s.apiProc = start(t, dir, "api", s.apiEnv)
	s.waitReady()
	return s
}

// restartAPI stops the api (SIGTERM), runs meanwhile, and starts it again
// on the same port and data.
func (s *stack) restartAPI(meanwhile func()) {
	s.t.Helper()
	s.apiProc.stop(s.t)
	meanwhile()
	s.apiProc = start(s.t, s.dir, "api", s.apiEnv)
	s.waitReady()
}

// waitInbox waits until the api's inbox has a message with this text.
func (s *stack) waitInbox(text string) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var page struct {
			Messages []struct {
				Text string `json:"text"`
			} `json:"messages"`
		}
		s.call("GET", "http://"+s.api+"/v1/inbox?limit=500", adminKey, "", &page)
		for _, m := range page.Messages {
			if m.Text == text {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the api did not store the SMS %q within 20 s", text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitReady waits until the api answers and has polled the modem.
func (s *stack) waitReady() {
	s.t.Helper()
	s.waitHTTP("http://" + s.api + "/readyz")
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st struct {
			Reachable bool `json:"reachable"`
		}
		if code := s.call("GET", "http://"+s.api+"/v1/modem/status", adminKey, "", &st); code == 200 && st.Reachable {
			break
		}
		if time.Now().After(deadline) {
			s.t.Fatal("the api did not poll the modem within 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
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

// call sends a request (with a bearer key if key is not empty) and decodes
// the JSON answer into out if not nil; it returns the status code.
func (s *stack) call(method, url, key, body string, out any) int {
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
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %d %v: %s", method, url, resp.StatusCode, err, b)
		}
	}
	return resp.StatusCode
}

// sim calls the simulator's control API and fails the test unless it
// answers 2xx.
func (s *stack) sim(method, path, body string, out any) {
	s.t.Helper()
	if code := s.call(method, "http://"+s.ctl+path, "", body, out); code/100 != 2 {
		s.t.Fatalf("simulator %s %s: %d", method, path, code)
	}
}
