//go:build linux

package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/simulator/control"
)

// crashSMS makes the round's k-th SMS: single or concatenated (8- or
// 16-bit reference), GSM 7-bit or UCS-2, its parts in a random order,
// sometimes with a part repeated by the network. The text is unique.
func crashSMS(rng *rand.Rand, round, k int) control.IncomingSMS {
	text := fmt.Sprintf("r%02d-k%d ", round, k)
	parts := 1
	switch rng.IntN(3) {
	case 1:
		text += strings.Repeat("0123456789", 15+rng.IntN(20)) // 2–4 GSM 7-bit parts
		parts = 0
	case 2:
		text += strings.Repeat("ü😀", 20+rng.IntN(30)) // 2–4 UCS-2 parts, pairs split across parts
		parts = 0
	}
	in := control.IncomingSMS{From: fmt.Sprintf("+4366%07d", rng.IntN(1e7)), Text: text, Ref16: rng.IntN(2) == 0}
	if parts == 0 {
		n := gsmParts(text, in.Ref16)
		if strings.Contains(text, "😀") {
			n = ucs2Parts(text, in.Ref16)
		}
		if n == 1 {
			// A repeated single SMS is a new message by design (store
			// doc): only parts of concatenated ones are deduplicated.
			return in
		}
		order := rng.Perm(n)
		for i := range order {
			order[i]++
		}
		if rng.IntN(3) == 0 {
			order = append(order, 1+rng.IntN(n)) // the network repeats a part
		}
		in.Order = order
	}
	return in
}

// gsmParts and ucs2Parts count the parts the simulator splits a text into
// (TS 23.040: 153/152 septets, 67/66 UTF-16 units per part).
func gsmParts(text string, ref16 bool) int {
	per := 153
	if ref16 {
		per = 152
	}
	n := len(text) // ASCII digits and letters: one septet each
	if n <= 160 {
		return 1
	}
	return (n + per - 1) / per
}

func ucs2Parts(text string, ref16 bool) int {
	units := 0
	for _, r := range text {
		units++
		if r > 0xFFFF {
			units++
		}
	}
	if units <= 70 {
		return 1
	}
	per := 67
	if ref16 {
		per = 66
	}
	// A part never ends between the units of a surrogate pair.
	n, used := 1, 0
	for _, r := range text {
		w := 1
		if r > 0xFFFF {
			w = 2
		}
		if used+w > per {
			n, used = n+1, 0
		}
		used += w
	}
	return n
}

// crashLoop delivers SMS into the simulator round after round while
// disrupt interrupts the api's draining at a random (seeded) moment; in
// the end every delivered SMS is in the inbox exactly once and the SIM
// store is empty.
func crashLoop(t *testing.T, seed uint64, rounds int, disrupt func(s *stack)) {
	// The incomplete timeout stays long (10m): every part is delivered, so
	// none may be given up as incomplete, however slow a loaded machine
	// makes the reconnects (with 2s, a split message was seen under load).
	s := newStack(t, stackOpts{apiEnv: []string{"API_INBOX_SWEEP=200ms", "API_INBOX_INCOMPLETE_AFTER=10m"}})
	rng := rand.New(rand.NewPCG(seed, 1))
	var want []string
	began := time.Now()
	for round := range rounds {
		for k := range 1 + rng.IntN(3) {
			in := crashSMS(rng, round, k)
			s.deliver(in)
			want = append(want, in.Text)
		}
		time.Sleep(time.Duration(rng.IntN(80)) * time.Millisecond)
		disrupt(s)
	}
	s.waitInbox(len(want), 60*time.Second)
	time.Sleep(500 * time.Millisecond) // more sweeps: nothing may come twice
	msgs := s.inbox()
	var got []string
	for _, m := range msgs {
		if m.State != "received" {
			t.Errorf("message %s is %s: %+v", m.ID, m.State, m)
		}
		got = append(got, m.Text)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		for _, w := range want {
			if n := countOf(got, w); n != 1 {
				t.Errorf("%q is in the inbox %d times", w, n)
			}
		}
		t.Fatalf("inbox has %d messages, %d delivered", len(got), len(want))
	}
	if sm := s.simStore("SM"); len(sm) != 0 {
		t.Fatalf("SM not empty: %+v", sm)
	}
	t.Logf("%d rounds, %d SMS delivered, each in the inbox exactly once, in %v", rounds, len(want), time.Since(began).Round(time.Millisecond))
}

func countOf(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// The api is killed with SIGKILL while it drains, and restarted.
func TestCrashLoopInboxKillAPI(t *testing.T) {
	crashLoop(t, 20260901, 24, (*stack).restartAPIHard)
}

// The relay is killed with SIGKILL while the api drains, and restarted.
func TestCrashLoopInboxKillRelay(t *testing.T) {
	crashLoop(t, 20260902, 20, (*stack).restartRelayHard)
}

// The modem is unplugged while the api drains, and plugged back in.
func TestCrashLoopInboxUnplug(t *testing.T) {
	crashLoop(t, 20260903, 20, (*stack).replug)
}
