// Command relaybench measures the relay against ser2net and socat, the
// tools it replaces, on the same simulated modem: the added latency of an
// `AT\r` → `OK` round trip over the bare pty (p50, p99), CPU time and
// context switches per round trip, throughput of the modem's output to the
// client with logging on, dropped log lines, and private memory. It is
// build tooling for scripts/bench-relay (`make bench-relay`), not a product
// binary.
//
// The three programs are separate processes, each on its own loopback port,
// and take turns on the device (only one has it open at a time) in rounds
// whose order rotates, so that a noisy machine spreads evenly over them.
// The bare pty is measured in the same rounds, opened by this program.
//
//	relaybench -device /tmp/x/ttyUSB2 -control 127.0.0.1:8091 -relay bin/relay -workdir /tmp/x
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/serialport"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat on Linux.
const userHZ = 100

// opTimeout bounds every wait of the benchmark (a start, a warm-up, a round).
const opTimeout = 60 * time.Second

// delayedACKBound is how long one round trip may wait for a delayed ACK.
const delayedACKBound = 50 * time.Millisecond

type options struct {
	device, control              string
	relay, ser2net, socat, work  string
	rounds, trips, throughputMiB int
	basePort                     int
}

func main() {
	var o options
	flag.StringVar(&o.device, "device", "", "the simulated modem's device (its --link)")
	flag.StringVar(&o.control, "control", "", "the simulator's control API, host:port (for the throughput's output)")
	flag.StringVar(&o.relay, "relay", "", "the relay binary")
	flag.StringVar(&o.ser2net, "ser2net", "ser2net", "the ser2net binary")
	flag.StringVar(&o.socat, "socat", "socat", "the socat binary")
	flag.StringVar(&o.work, "workdir", "", "directory for logs and configuration")
	flag.IntVar(&o.rounds, "rounds", 5, "rounds (each program once per round, in rotating order)")
	flag.IntVar(&o.trips, "trips", 10000, "timed round trips per program and round")
	flag.IntVar(&o.throughputMiB, "throughput-mib", 8, "MiB of modem output per program and round")
	flag.IntVar(&o.basePort, "port", 18100, "first loopback port; the programs use the next few")
	flag.Parse()
	if err := o.check(); err != nil {
		fmt.Fprintf(os.Stderr, "relaybench: %v\n", err)
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "relaybench: %v\n", err)
		os.Exit(1)
	}
}

func (o *options) check() error {
	var errs []error
	for name, v := range map[string]string{"-device": o.device, "-control": o.control, "-relay": o.relay, "-workdir": o.work} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	if o.rounds < 1 || o.rounds > 100 || o.trips < 100 || o.trips > 1_000_000 || o.throughputMiB < 1 || o.throughputMiB > 1024 {
		errs = append(errs, errors.New("want 1-100 rounds, 100-1000000 trips, 1-1024 MiB"))
	}
	if o.basePort < 1024 || o.basePort > 65000 {
		errs = append(errs, errors.New("-port: want 1024-65000"))
	}
	return errors.Join(errs...)
}

// result accumulates one program's measurements over the rounds.
type result struct {
	lat          []time.Duration
	trips        int
	lost         int // round trips without an answer within a second
	lostBytes    int64
	cpuTicks     int64
	ctxSwitches  int64
	mbps         []float64
	privateKiB   int64
	anonKiB      int64
	droppedLines int64
	measured     bool // a process (CPU, switches, memory) was measured
}

// target is one way to reach the modem.
type target struct {
	name  string
	start func(o options, round int) (*proc, io.ReadWriteCloser, error)
}

func run(o options) error {
	targets := []target{
		{"bare pty", startBare},
		{"relay", startRelay},
		{"ser2net", startSer2net},
		{"socat", startSocat},
	}
	results := map[string]*result{}
	for _, t := range targets {
		results[t.name] = &result{}
	}
	// 256 KiB per POST /noise (its body, in hex, stays below the control
	// API's 1 MiB limit).
	noise := modemOutput(256 << 10)
	for round := range o.rounds {
		for i := range targets {
			t := targets[(i+round)%len(targets)]
			if err := measure(o, t, round, noise, results[t.name]); err != nil {
				return fmt.Errorf("round %d, %s: %w", round+1, t.name, err)
			}
		}
		fmt.Fprintf(os.Stderr, "relaybench: round %d of %d done\n", round+1, o.rounds)
	}
	report(os.Stdout, o, targets, results)
	return nil
}

// measure starts t, times the round trips, pushes the throughput's bytes
// and stops it, adding to res.
func measure(o options, t target, round int, noise []byte, res *result) (err error) {
	p, conn, err := t.start(o, round)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := conn.Close(); cerr != nil && err == nil && !errors.Is(cerr, net.ErrClosed) && !errors.Is(cerr, os.ErrClosed) {
			err = fmt.Errorf("close: %w", cerr)
		}
		if p != nil {
			if perr := p.stop(); perr != nil && err == nil {
				err = perr
			}
		}
	}()
	// Whatever blocks longer than this is broken: closing unblocks it. The
	// round trips may each wait for a delayed ACK (ser2net and socat write
	// the echo and the OK as two segments without TCP_NODELAY), about 40 ms
	// on Linux: allow that for every one.
	watchdog := time.AfterFunc(opTimeout+time.Duration(o.trips)*delayedACKBound, func() { conn.Close() })
	defer watchdog.Stop()

	if err := warmUp(conn); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	var before procStats
	if p != nil {
		if before, err = readStats(p.pid); err != nil {
			return err
		}
	}
	lat, lost, err := roundTrips(conn, o.trips)
	if err != nil {
		return err
	}
	res.lost += lost
	if p != nil {
		after, err := readStats(p.pid)
		if err != nil {
			return err
		}
		res.cpuTicks += after.ticks - before.ticks
		res.ctxSwitches += after.switches - before.switches
		res.measured = true
	}
	res.lat = append(res.lat, lat...)
	res.trips += len(lat)
	watchdog.Reset(opTimeout)

	rd, ok := conn.(readDeadliner)
	if !ok {
		return errors.New("no read deadline")
	}
	mbps, lostBytes, err := throughput(o, rd, noise)
	if err != nil {
		return fmt.Errorf("throughput: %w", err)
	}
	res.mbps = append(res.mbps, mbps)
	res.lostBytes += lostBytes
	if p != nil {
		smaps := fmt.Sprintf("/proc/%d/smaps_rollup", p.pid)
		kib, err := statusSum(smaps, "Private_Clean:", "Private_Dirty:")
		if err != nil {
			return err
		}
		anon, err := statusSum(smaps, "Anonymous:")
		if err != nil {
			return err
		}
		res.privateKiB = max(res.privateKiB, kib)
		res.anonKiB = max(res.anonKiB, anon)
		if p.metrics != "" {
			n, err := scrapeCounter(p.metrics, "relay_log_lines_dropped_total")
			if err != nil {
				return err
			}
			res.droppedLines += n
		}
	}
	return nil
}

// warmUp resynchronises (a program may still be opening the device when
// the first bytes arrive), then runs 200 round trips.
func warmUp(rw io.ReadWriter) error {
	dl, ok := rw.(interface{ SetReadDeadline(time.Time) error })
	if !ok {
		return errors.New("no read deadline")
	}
	if err := resync(rw, dl); err != nil {
		return err
	}
	_, _, err := roundTrips(rw, 200)
	return err
}

// roundTrips times n `AT\r` → `AT\r\r\nOK\r\n` exchanges (echo on). An
// answer that does not come within a second is counted as lost (and the
// line resynchronised), not timed; more than 100 lost fail the run.
func roundTrips(rw io.ReadWriter, n int) (lat []time.Duration, lost int, err error) {
	type deadliner interface{ SetReadDeadline(time.Time) error }
	dl, ok := rw.(deadliner)
	if !ok {
		return nil, 0, errors.New("no read deadline")
	}
	want := []byte("AT\r\r\nOK\r\n")
	buf := make([]byte, 256)
	lat = make([]time.Duration, 0, n)
	for len(lat) < n {
		t0 := time.Now()
		if err := dl.SetReadDeadline(t0.Add(time.Second)); err != nil {
			return nil, lost, err
		}
		if _, err := rw.Write(want[:3]); err != nil {
			return nil, lost, err
		}
		got := 0
		for got < len(want) && err == nil {
			var k int
			k, err = rw.Read(buf[got:])
			got += k
		}
		d := time.Since(t0)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			if lost++; lost > 100 {
				return nil, lost, errors.New("more than 100 round trips lost")
			}
			if err = resync(rw, dl); err != nil {
				return nil, lost, err
			}
			continue
		case err != nil:
			return nil, lost, err
		case !bytes.Equal(buf[:got], want):
			return nil, lost, fmt.Errorf("got %q, want %q", buf[:got], want)
		}
		lat = append(lat, d)
	}
	return lat, lost, dl.SetReadDeadline(time.Time{})
}

// resync sends AT until a clean OK comes back, reading whatever else
// arrives (a late answer, a program still opening the device).
func resync(rw io.ReadWriter, dl interface{ SetReadDeadline(time.Time) error }) error {
	buf := make([]byte, 4096)
	for range 20 {
		if _, err := rw.Write([]byte("AT\r")); err != nil {
			return err
		}
		var got []byte
		for end := time.Now().Add(500 * time.Millisecond); ; {
			if err := dl.SetReadDeadline(end); err != nil {
				return err
			}
			n, err := rw.Read(buf)
			got = append(got, buf[:n]...)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil {
				return err
			}
		}
		if bytes.HasSuffix(got, []byte("AT\r\r\nOK\r\n")) {
			return dl.SetReadDeadline(time.Time{})
		}
	}
	return errors.New("no clean OK to AT in 20 tries")
}

// modemOutput is n bytes of what a modem says a lot of: stored messages in
// PDU mode, mostly printable with CR LF line ends.
func modemOutput(n int) []byte {
	line := []byte("\r\n+CMGL: 0,1,,23\r\n07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37\r\n")
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, line[:min(len(line), n-len(out))]...)
	}
	return out
}

// throughput has the simulator write -throughput-mib MiB of noise to the
// device (its control API's POST /noise, one copy of noise per request)
// and times until all of it reached the client.
func throughput(o options, r readDeadliner, noise []byte) (mbps float64, lost int64, err error) {
	body := []byte(`{"hex":"` + hex.EncodeToString(noise) + `"}`)
	posts := (o.throughputMiB << 20) / len(noise)
	total := int64(posts) * int64(len(noise))
	type received struct {
		n   int64
		err error
	}
	done := make(chan received, 1)
	t0 := time.Now()
	go func() {
		// Until all of it came, or nothing for 5 s (a program lost some).
		var n int64
		buf := make([]byte, 64<<10)
		for n < total {
			if err := r.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
				done <- received{n, err}
				return
			}
			k, err := r.Read(buf)
			n += int64(k)
			if err != nil {
				done <- received{n, err}
				return
			}
		}
		done <- received{n, nil}
	}()
	client := &http.Client{Timeout: opTimeout}
	for range posts {
		resp, err := client.Post("http://"+o.control+"/noise", "application/json", bytes.NewReader(body))
		if err != nil {
			return 0, 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return 0, 0, fmt.Errorf("POST /noise: %s", resp.Status)
		}
	}
	got := <-done
	elapsed := time.Since(t0)
	if got.err != nil {
		if !errors.Is(got.err, os.ErrDeadlineExceeded) {
			return 0, 0, got.err
		}
		elapsed -= 5 * time.Second // the idle wait at the end
		if err := r.SetReadDeadline(time.Time{}); err != nil {
			return 0, 0, err
		}
	}
	return float64(got.n) / 1e6 / elapsed.Seconds(), total - got.n, nil
}

// readDeadliner is a connection or a port with read deadlines.
type readDeadliner interface {
	io.Reader
	SetReadDeadline(time.Time) error
}

// proc is a started program.
type proc struct {
	cmd     *exec.Cmd
	pid     int
	metrics string // the relay's metrics address
	done    chan error
}

func startProc(o options, name string, round int, args ...string) (*proc, error) {
	out, err := os.Create(filepath.Join(o.work, fmt.Sprintf("%s-%d.log", filepath.Base(name), round+1)))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	// Never outlive the benchmark, whatever ends it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{cmd: cmd, pid: cmd.Process.Pid, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); out.Close() }()
	return p, nil
}

// stop ends the program (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (p *proc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil // its exit status after SIGTERM does not matter here
	case <-time.After(5 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("%s did not stop on SIGTERM", p.cmd.Path)
}

// waitListening waits until port is listening on 127.0.0.1 (without
// connecting: socat serves only its first connection).
func waitListening(p *proc, port int) error {
	want := fmt.Sprintf(":%04X ", port)
	for deadline := time.Now().Add(opTimeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-p.done:
			return fmt.Errorf("%s exited before listening: %v", p.cmd.Path, err)
		default:
		}
		f, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(f), "\n") {
			fs := strings.Fields(l)
			if len(fs) > 3 && strings.HasSuffix(fs[1]+" ", want) && fs[3] == "0A" {
				return nil
			}
		}
	}
	return fmt.Errorf("%s not listening on %d after %v", p.cmd.Path, port, opTimeout)
}

func dialTCP(port int) (*net.TCPConn, error) {
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	return tc, tc.SetNoDelay(true)
}

func startBare(o options, _ int) (*proc, io.ReadWriteCloser, error) {
	p, _, err := (&serialport.Device{Pattern: o.device, Baud: 115200}).Open()
	if err != nil {
		return nil, nil, err
	}
	d, ok := p.(io.ReadWriteCloser)
	if !ok {
		return nil, nil, errors.New("port")
	}
	return nil, d, nil
}

func startRelay(o options, round int) (*proc, io.ReadWriteCloser, error) {
	port, mport := o.basePort+1, o.basePort+2
	p, err := startProc(o, o.relay, round, "-device", o.device, "-listen", fmt.Sprintf("127.0.0.1:%d", port),
		"-metrics-listen", fmt.Sprintf("127.0.0.1:%d", mport), "-heartbeat-timeout", "1h")
	if err != nil {
		return nil, nil, err
	}
	p.metrics = fmt.Sprintf("127.0.0.1:%d", mport)
	for deadline := time.Now().Add(opTimeout); ; time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get("http://" + p.metrics + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return nil, nil, errors.Join(errors.New("relay not healthy"), p.stop())
		}
	}
	c, err := dialTCP(port)
	if err != nil {
		return nil, nil, errors.Join(err, p.stop())
	}
	return p, c, nil
}

func startSer2net(o options, round int) (*proc, io.ReadWriteCloser, error) {
	port := o.basePort + 3
	cfg := filepath.Join(o.work, "ser2net.yaml")
	yaml := fmt.Sprintf(`%%YAML 1.1
---
connection: &bench
  accepter: tcp,127.0.0.1,%d
  connector: serialdev,%s,115200n81,local
  options:
    kickolduser: true
    chardelay: false
`, port, o.device)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		return nil, nil, err
	}
	p, err := startProc(o, o.ser2net, round, "-n", "-u", "-c", cfg, "-P", filepath.Join(o.work, "ser2net.pid"))
	if err != nil {
		return nil, nil, err
	}
	if err := waitListening(p, port); err != nil {
		return nil, nil, errors.Join(err, p.stop())
	}
	c, err := dialTCP(port)
	if err != nil {
		return nil, nil, errors.Join(err, p.stop())
	}
	return p, c, nil
}

func startSocat(o options, round int) (*proc, io.ReadWriteCloser, error) {
	port := o.basePort + 4
	p, err := startProc(o, o.socat, round, fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr", port),
		fmt.Sprintf("FILE:%s,raw,echo=0,b115200", o.device))
	if err != nil {
		return nil, nil, err
	}
	if err := waitListening(p, port); err != nil {
		return nil, nil, errors.Join(err, p.stop())
	}
	c, err := dialTCP(port)
	if err != nil {
		return nil, nil, errors.Join(err, p.stop())
	}
	return p, c, nil
}

// procStats are a process's CPU ticks (utime+stime) and context switches
// (voluntary and not, summed over its threads).
type procStats struct{ ticks, switches int64 }

func readStats(pid int) (procStats, error) {
	var s procStats
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: no comm", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	for _, v := range f[11:13] { // utime, stime (fields 14 and 15)
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return s, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		s.ticks += n
	}
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil {
		return s, err
	}
	for _, t := range tasks {
		n, err := statusSum(t, "voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")
		if err != nil {
			continue // the thread ended meanwhile
		}
		s.switches += n
	}
	return s, nil
}

// statusSum adds the values of the named fields of a /proc status-like file.
func statusSum(path string, fields ...string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var sum int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) >= 2 && slices.Contains(fields, fs[0]) {
			n, err := strconv.ParseInt(fs[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: %w", path, err)
			}
			sum += n
		}
	}
	return sum, sc.Err()
}

// scrapeCounter reads one unlabelled counter from a Prometheus endpoint.
func scrapeCounter(addr, name string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int64(f), err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s not in %s/metrics", name, addr)
}

func percentile(lat []time.Duration, q float64) float64 {
	s := slices.Clone(lat)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(q*float64(len(s))))]) / float64(time.Microsecond)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// report prints the table: one column per program, the relay's ratio to
// each peer (below 1 means the relay is better, except for throughput).
func report(w io.Writer, o options, targets []target, res map[string]*result) {
	bare := res["bare pty"]
	bp50, bp99 := percentile(bare.lat, .50), percentile(bare.lat, .99)
	type row struct {
		name  string
		value func(r *result) (float64, bool)
		unit  string
	}
	rows := []row{
		{"AT round trip p50", func(r *result) (float64, bool) { return percentile(r.lat, .50), true }, "µs"},
		{"AT round trip p99", func(r *result) (float64, bool) { return percentile(r.lat, .99), true }, "µs"},
		{"added latency p50", func(r *result) (float64, bool) { return percentile(r.lat, .50) - bp50, r != bare }, "µs"},
		{"added latency p99", func(r *result) (float64, bool) { return percentile(r.lat, .99) - bp99, r != bare }, "µs"},
		{"CPU per round trip", func(r *result) (float64, bool) {
			return float64(r.cpuTicks) * 1e6 / userHZ / float64(r.trips), r.measured
		}, "µs"},
		{"context switches per round trip", func(r *result) (float64, bool) { return float64(r.ctxSwitches) / float64(r.trips), r.measured }, ""},
		{"throughput modem → client, median", func(r *result) (float64, bool) { return median(r.mbps), true }, "MB/s"},
		{"round trips lost (no answer in 1 s)", func(r *result) (float64, bool) { return float64(r.lost), true }, ""},
		{"modem output lost", func(r *result) (float64, bool) { return float64(r.lostBytes), true }, "bytes"},
		{"log lines dropped", func(r *result) (float64, bool) { return float64(r.droppedLines), r == res["relay"] }, ""},
		{"private memory (clean+dirty), max", func(r *result) (float64, bool) { return float64(r.privateKiB), r.measured }, "KiB"},
		{"anonymous memory, max", func(r *result) (float64, bool) { return float64(r.anonKiB), r.measured }, "KiB"},
	}
	fmt.Fprintf(w, "relaybench: %d rounds; per program and round %d AT round trips and %d MiB of modem output; the relay logs in full to a file\n\n",
		o.rounds, o.trips, o.throughputMiB)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for _, t := range targets {
		fmt.Fprintf(tw, "%s\t", t.name)
	}
	fmt.Fprint(tw, "relay/ser2net\trelay/socat\t\n")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t", r.name+unitSuffix(r.unit))
		for _, t := range targets {
			if v, ok := r.value(res[t.name]); ok {
				fmt.Fprintf(tw, "%s\t", format(v))
			} else {
				fmt.Fprint(tw, "–\t")
			}
		}
		rv, _ := r.value(res["relay"])
		for _, peer := range []string{"ser2net", "socat"} {
			pv, ok := r.value(res[peer])
			if !ok || pv <= 0 || rv < 0 || strings.Contains(r.name, "lost") || r.name == "log lines dropped" {
				fmt.Fprint(tw, "–\t")
				continue
			}
			fmt.Fprintf(tw, "%.2f\t", rv/pv)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " (" + u + ")"
}

func format(v float64) string {
	if v >= 100 || v == float64(int64(v)) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}
