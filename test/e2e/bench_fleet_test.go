//go:build linux

package e2e

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// partsSent sums simmodem_api_sms_parts_sent_total over the modems.
func (s *stack) partsSent() int {
	total := 0.0
	sc := bufio.NewScanner(strings.NewReader(s.metrics()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "simmodem_api_sms_parts_sent_total{") {
			if v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64); err == nil {
				total += v
			}
		}
	}
	return int(total)
}

// cpuSeconds is the user and system CPU time the processes used so far.
func cpuSeconds(t *testing.T, procs []*proc) float64 {
	total := 0.0
	for _, p := range procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		// Fields after the command name in parentheses: utime and stime
		// are the 12th and 13th, in clock ticks (100 a second on Linux).
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		for _, i := range []int{11, 12} {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				t.Fatal(err)
			}
			total += v / 100
		}
	}
	return total
}

// The figures of several modems: messages per second sent through one
// api with 1 and 3 instant simulated modems (without pacing: the store
// and the AT round trips bound it; with a pacing of 500 ms: the network's
// rule bounds it, as in real use), and the api's resident memory with 1,
// 3 and 10 modems configured.
//
//	E2E_BENCH=1 go test -run BenchFleet -v ./test/e2e
func TestBenchFleet(t *testing.T) {
	benchOnly(t)
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("m%d", i+1)
		}
		return out
	}
	for _, pacing := range []string{"0", "500ms"} {
		count := 300
		if pacing != "0" {
			count = 60
		}
		for _, n := range []int{1, 3} {
			t.Run(fmt.Sprintf("pacing=%s/modems=%d", pacing, n), func(t *testing.T) {
				f := newFleet(t, fleetOpts{ids: ids(n), apiEnv: []string{"API_SMS_PACING=" + pacing, "API_POLL_INTERVAL=2s"}})
				procs := []*proc{f.apiProc}
				for _, m := range f.modems {
					procs = append(procs, m.sim, m.relay)
				}
				cpu0, api0 := cpuSeconds(t, procs), cpuSeconds(t, procs[:1])
				began := time.Now()
				var wg sync.WaitGroup
				for c := range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := c; i < count; i += 8 {
							if code, _ := f.postMessage(fmt.Sprintf(`{"to":"+43660%07d","text":"fleet bench %d"}`, i, i)); code != 202 {
								t.Errorf("accept %d: %d", i, code)
							}
						}
					}()
				}
				wg.Wait()
				accepted := time.Since(began)
				for f.partsSent() < count {
					if time.Since(began) > 5*time.Minute {
						t.Fatalf("only %d of %d sent after 5 minutes", f.partsSent(), count)
					}
					time.Sleep(250 * time.Millisecond) // a scrape reads the store's figures: not too often
				}
				took := time.Since(began)
				cpu, api := cpuSeconds(t, procs)-cpu0, cpuSeconds(t, procs[:1])-api0
				t.Logf("%d modems, pacing %s: %d messages accepted in %v, all sent after %v: %.1f messages/s; "+
					"CPU of the api, simulators and relays %.2f s (%.2f of %d cores; the api %.2f s)",
					n, pacing, count, accepted.Round(time.Millisecond), took.Round(time.Millisecond), float64(count)/took.Seconds(),
					cpu, cpu/took.Seconds(), runtime.NumCPU(), api)
			})
		}
	}
	for _, n := range []int{1, 3, 10} {
		t.Run(fmt.Sprintf("memory/modems=%d", n), func(t *testing.T) {
			f := newFleet(t, fleetOpts{ids: ids(n), apiEnv: []string{"API_POLL_INTERVAL=2s"}})
			time.Sleep(3 * time.Second) // a few polls of every modem
			r, h := rss(t, f.apiProc.cmd.Process.Pid)
			t.Logf("api with %d modems, idle after their init and polls: VmRSS %s kB, VmHWM %s kB (%s)", n, r, h, rssSplit(t, f.apiProc.cmd.Process.Pid))
		})
	}
}
