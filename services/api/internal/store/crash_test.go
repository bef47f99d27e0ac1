package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"

	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// crashChildEnv, set to a store path, makes the test binary a writer that
// prints "ack <id>" after every committed message until it is killed.
const crashChildEnv = "STORE_TEST_CRASH_CHILD"

// crashChild is the writer: 4 goroutines accepting outbound messages and
// saving inbound parts, each acknowledged on stdout only after the store
// returned (committed).
func crashChild() int {
	path, round := os.Getenv(crashChildEnv), os.Getenv("STORE_TEST_CRASH_ROUND")
	ctx := context.Background()
	s, err := openLocation(ctx, path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	modem, err := s.UpsertModem(ctx, testModem)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var mu sync.Mutex
	ack := func(kind, id string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, "ack %s %s\n", kind, id)
	}
	parts := encodeParts(crashT{}, "+436601234567", longText(3))
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("r%s-w%d-%d", round, w, i)
				if _, _, err := s.AcceptOutbound(ctx, OutboundRequest{ID: id, To: "+436601234567", Text: longText(3), Parts: parts}); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				ack("out", id)
				pduHex := deliverHex(crashT{}, "+436641234567", 0, pduText(id))
				res, err := s.SavePart(ctx, InboundPart{ModemID: modem, Storage: "SM", Index: 1000*w + i, PDUHex: pduHex})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				ack("in", res.Message.ID)
			}
		}()
	}
	wg.Wait()
	return 0
}

// crashT lets the test helpers run in the child, outside a test.
type crashT struct{ testing.TB }

func (crashT) Helper()                   {}
func (crashT) Fatal(args ...any)         { fmt.Fprintln(os.Stderr, args...); os.Exit(1) }
func (crashT) Fatalf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...); os.Exit(1) }

// TestCrashKeepsEveryAcknowledgedRow kills a writing child process with
// SIGKILL at a random moment (fixed seed), three times; after each, every
// row the child acknowledged is in the store and the file passes
// PRAGMA integrity_check.
func TestCrashKeepsEveryAcknowledgedRow(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	path := newLocation(t) // a file, or a PostgreSQL database: the api is what is killed
	rng := rand.New(rand.NewPCG(1, 2))
	acked := map[string]string{}
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+path, fmt.Sprintf("STORE_TEST_CRASH_ROUND=%d", round))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAt := 50 + rng.IntN(250)
		sc := bufio.NewScanner(out)
		n := 0
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 3 || f[0] != "ack" {
				t.Fatalf("child said %q", sc.Text())
			}
			acked[f[2]] = f[1]
			if n++; n == killAt {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
		}
		err = cmd.Wait()
		if n < killAt {
			t.Fatalf("round %d: the child stopped after %d acks: %v\n%s", round, n, err, stderr.String())
		}
		s, err := openLocation(context.Background(), path, Options{})
		if err != nil {
			t.Fatalf("round %d: reopening after SIGKILL: %v", round, err)
		}
		if !s.Postgres() {
			var check string
			if err := s.r.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
				t.Fatalf("round %d: integrity_check %q, %v", round, check, err)
			}
		}
		for id, kind := range acked {
			m, err := s.Get(context.Background(), id)
			if err != nil || string(m.Direction) != kind || (kind == "out" && len(m.Parts) != 3) {
				t.Fatalf("round %d: acknowledged %s %s: %+v, %v", round, kind, id, m, err)
			}
		}
		t.Logf("round %d: killed after %d acks; %d acknowledged rows all there", round, n, len(acked))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// pduText is a single-part text user data.
func pduText(s string) pdu.UserData { return pdu.UserData{Text: s} }
