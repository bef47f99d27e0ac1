package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/relaywire"
	"github.com/sim-modem-api/sim-modem-api/simulator/ptylink"
	"go.uber.org/goleak"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "relay-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "relay")
	// Built as deployed: static, without cgo.
	build := exec.Command("go", "build", "-trimpath", "-o", binary, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		panic("build relay: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			println("goleak:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

func TestBadConfigStopsAtStart(t *testing.T) {
	cmd := exec.Command(binary, "-listen", "nope")
	cmd.Env = append(os.Environ(), "RELAY_BAUD=fast")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("exit %v, want 2; output %s", err, out)
	}
	for _, want := range []string{`invalid RELAY_BAUD="fast"`, `invalid -listen="nope"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// proc is a running relay binary.
type proc struct {
	cmd     *exec.Cmd
	lines   chan string
	relay   string // client address
	metrics string
	done    chan error
}

func startBinary(t *testing.T, device string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary, "-device", device, "-listen", "127.0.0.1:0", "-metrics-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, lines: make(chan string, 1000), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default: // the test stopped looking
			}
		}
		close(p.lines)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		for range p.lines {
		}
		<-p.done
	})
	reRelay := regexp.MustCompile(`to clients on (\S+) `)
	reMetrics := regexp.MustCompile(`Metrics server is bound and listening on (\S+)`)
	for p.relay == "" || p.metrics == "" {
		line := p.waitLine(t, "")
		if m := reRelay.FindStringSubmatch(line); m != nil {
			p.relay = m[1]
		}
		if m := reMetrics.FindStringSubmatch(line); m != nil {
			p.metrics = m[1]
		}
	}
	return p
}

// waitLine returns the next log line containing s.
func (p *proc) waitLine(t *testing.T, s string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				t.Fatalf("relay exited while waiting for %q", s)
			}
			if strings.Contains(line, s) {
				return line
			}
		case <-timeout:
			t.Fatalf("timed out waiting for log line %q", s)
		}
	}
}

func runHealthcheck(t *testing.T, addr string) (int, string) {
	t.Helper()
	out, err := exec.Command(binary, "healthcheck", "-metrics-listen", addr).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

// TestBinary drives the built relay against a pty: log in local time with
// TZ honoured, health check, a client's bytes both ways, SIGTERM.
func TestBinary(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyUSB2")
	p := startBinary(t, filepath.Join(filepath.Dir(link), "ttyUSB*"), "TZ=Europe/Vienna")

	// No device yet: waited for, and unhealthy.
	p.waitLine(t, "Waiting for serial device")
	if code, out := runHealthcheck(t, p.metrics); code != 1 || !strings.Contains(out, "serial device unavailable") {
		t.Fatalf("healthcheck without device: exit %d, %s", code, out)
	}
	modem, err := ptylink.Open(link)
	if err != nil {
		t.Fatal(err)
	}
	defer modem.Close()
	line := p.waitLine(t, "Serial device opened successfully")
	vienna, _ := time.LoadLocation("Europe/Vienna")
	stamp, err := time.ParseInLocation("[02.01.2006 15:04:05]", line[:21], vienna)
	if err != nil {
		t.Fatalf("log line %q: %v", line, err)
	}
	if d := time.Since(stamp); d < -time.Minute || d > time.Minute {
		t.Fatalf("log time %q is not Vienna local time (off by %v)", line, d)
	}
	if code, out := runHealthcheck(t, p.metrics); code != 0 {
		t.Fatalf("healthcheck: exit %d, %s", code, out)
	}

	c, err := net.Dial("tcp", p.relay)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	relayAT(t, p, c, modem)
	p.waitLine(t, `SER_R ->\r\nOK\r\n<-`)

	stopWithClient(t, p, c)
}

func TestHealthcheckWithoutRelay(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if code, out := runHealthcheck(t, addr); code != 1 || !strings.Contains(out, "relay healthcheck:") {
		t.Fatalf("exit %d, %s", code, out)
	}
}

// TestStalledStdoutDoesNotStopRelaying runs the binary with stdout on a pipe
// that nobody reads: relaying goes on at full speed, and once stdout is read
// again the log says how many lines were dropped.
func TestStalledStdoutDoesNotStopRelaying(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyUSB2")
	modem, err := ptylink.Open(link)
	if err != nil {
		t.Fatal(err)
	}
	echoDone := make(chan struct{})
	go func() { defer close(echoDone); _, _ = io.Copy(modem, modem) }()
	defer func() { modem.Close(); <-echoDone }()

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd := exec.Command(binary, "-device", link, "-listen", "127.0.0.1:0", "-metrics-listen", "", "-heartbeat-timeout", "1h")
	cmd.Stdout = pw
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	br := bufio.NewReader(pr)
	reRelay := regexp.MustCompile(`to clients on (\S+) `)
	var addr string
	for opened := false; addr == "" || !opened; {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("relay log ended: %v", err)
		}
		if m := reRelay.FindStringSubmatch(line); m != nil {
			addr = m[1]
		}
		opened = opened || strings.Contains(line, "Serial device opened successfully")
	}
	// From here on nobody reads stdout.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const total = 4 << 20
	chunk := []byte(strings.Repeat("AT+CSQ\r\n", 512))
	writeErr := make(chan error, 1)
	go func() {
		for sent := 0; sent < total; sent += len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := io.CopyN(io.Discard, c, total); err != nil {
		t.Fatalf("relayed %d of %d bytes with stdout stalled: %v", n, total, err)
	}
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	m := regexp.MustCompile(`Log output too slow: dropped (\d+) log lines`).FindAllSubmatch(rest, -1)
	if len(m) == 0 {
		t.Fatalf("no drop report in %d bytes of log", len(rest))
	}
	if !strings.HasSuffix(string(rest), "Shut down\n") {
		t.Fatalf("log does not end with the shutdown: %q", rest[max(0, len(rest)-200):])
	}
}

// relayAT waits until the relay gave c control, then checks that a
// heartbeat and AT from c reach the modem as AT alone, and the modem's
// OK reaches c.
func relayAT(t *testing.T, p *proc, c net.Conn, modem io.ReadWriter) {
	t.Helper()
	p.waitLine(t, "Successfully gave control to this client socket")
	if _, err := c.Write([]byte("<heartbeat>AT\r")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := io.ReadFull(modem, buf); err != nil || string(buf) != "AT\r" {
		t.Fatalf("modem got %q, %v", buf, err)
	}
	if _, err := modem.Write([]byte("\r\nOK\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, 6)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "\r\nOK\r\n" {
		t.Fatalf("client got %q, %v", got, err)
	}
}

// stopWithClient sends SIGTERM to the relay with c in control: c gets the
// shutdown message, and the relay logs "Shut down" and exits with 0.
func stopWithClient(t *testing.T, p *proc, c io.Reader) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(c)
	if err != nil || string(rest) != relaywire.MsgRelayShuttingDown {
		t.Fatalf("client got %q, %v at SIGTERM", rest, err)
	}
	p.waitLine(t, "Shut down")
	for range p.lines {
	}
	if err := <-p.done; err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	p.done <- nil
}
