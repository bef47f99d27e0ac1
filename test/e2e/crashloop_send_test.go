//go:build linux

package e2e

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// crashText is the k-th message of the send crash loop: single or
// concatenated, GSM 7-bit or UCS-2; every text is unique.
func crashText(rng *rand.Rand, k int) string {
	text := fmt.Sprintf("send-%02d ", k)
	switch rng.IntN(4) {
	case 1:
		text += strings.Repeat("exactly once ", 13+rng.IntN(12)) // 2–3 GSM 7-bit parts
	case 2:
		text += strings.Repeat("Grüße 👋 ", 9+rng.IntN(8)) // 2–3 UCS-2 parts
	case 3:
		text += "Grüße 👋" // 1 UCS-2 part
	}
	return text
}

// sendCrashLoop accepts 30 messages (about 60 parts) while disrupt
// interrupts the sending at seeded random moments, at least 20 times;
// then, from the simulator's own record, every message went out exactly
// once with each part once, nothing is left in the SIM store, and the api
// says sent for every message.
func sendCrashLoop(t *testing.T, seed uint64, rounds int, disrupt func(s *stack)) {
	s := newStack(t, stackOpts{apiEnv: []string{"API_RETRY_MIN=50ms", "API_RETRY_MAX=300ms"}})
	s.ctlCall("PUT", "/faults", `{"delay":"25ms"}`, nil) // kills land inside commands
	rng := rand.New(rand.NewPCG(seed, 2))
	const total = 30
	want := map[string]string{} // id → text
	began := time.Now()
	k := 0
	acceptSome := func(n int) {
		for ; n > 0 && k < total; n-- {
			text := crashText(rng, k)
			id := fmt.Sprintf("crash-%02d", k)
			if code, m := s.accept(`{"to":"+4366012345`+fmt.Sprintf("%02d", k)+`","text":`+jsonString(text)+`}`, "Idempotency-Key", id); code != 202 {
				t.Fatalf("accept %s: %d %+v", id, code, m)
			}
			want[id] = text
			k++
		}
	}
	acceptSome(10)
	var waits []time.Duration
	inFlight := 0 // disruptions that came while messages were queued or sending
	for range rounds {
		d := time.Duration(50+rng.IntN(450)) * time.Millisecond
		time.Sleep(d)
		waits = append(waits, d)
		var page struct{ Messages []outMsg }
		if s.call("GET", "/v1/messages?direction=out&state=queued,sending&limit=1", userKey, "", &page) == 200 && len(page.Messages) > 0 {
			inFlight++
		}
		disrupt(s)
		acceptSome(1)
	}
	acceptSome(total)
	disrupted := time.Since(began)
	s.waitFor("every message sent", 90*time.Second, func() bool {
		for _, m := range s.outbox() {
			if m.State != "sent" {
				if m.State == "failed" || m.State == "expired" || m.State == "cancelled" {
					t.Fatalf("message %s is %s: %s", m.ID, m.State, m.Reason)
				}
				return false
			}
		}
		return true
	})
	msgs := s.outbox()
	if len(msgs) != total {
		t.Fatalf("%d messages in the api, %d accepted", len(msgs), total)
	}
	parts := map[string]int{}
	sumParts := 0
	for _, m := range msgs {
		parts[want[m.ID]] = m.PartCount
		sumParts += m.PartCount
	}
	// The simulator records a part sent twice as a message of its own (its
	// sequence number is taken): so exactly once means one record per
	// text, with every part, and no other record.
	sent := s.sent()
	var texts []string
	sentParts := 0
	for _, sm := range sent {
		texts = append(texts, sm.Text)
		sentParts += len(sm.Parts)
		if n, ok := parts[sm.Text]; !ok || len(sm.Parts) != n {
			t.Errorf("the simulator sent %q in %d parts; accepted with %d (known %v)", sm.Text, len(sm.Parts), n, ok)
		}
	}
	var wantTexts []string
	for _, text := range want {
		wantTexts = append(wantTexts, text)
	}
	slices.Sort(texts)
	slices.Sort(wantTexts)
	if !slices.Equal(texts, wantTexts) || sentParts != sumParts {
		for _, w := range wantTexts {
			if n := countOf(texts, w); n != 1 {
				t.Errorf("%q sent %d times", w, n)
			}
		}
		t.Fatalf("the simulator sent %d messages (%d parts); %d accepted (%d parts)", len(sent), sentParts, len(want), sumParts)
	}
	if n := s.storedOutbound(); n != 0 {
		t.Fatalf("%d outbound copies left in the SIM store: %+v", n, s.simStore("SM"))
	}
	t.Logf("seed %d: %d disruptions (%d while messages were in flight; waits %v) in %v; %d messages, %d parts, each sent exactly once; all sent after %v",
		seed, rounds, inFlight, waits, disrupted.Round(time.Millisecond), total, sumParts, time.Since(began).Round(time.Millisecond))
	if inFlight < rounds/2 {
		t.Fatalf("only %d of %d disruptions hit messages in flight", inFlight, rounds)
	}
}

// The api is killed with SIGKILL while it sends, and restarted.
func TestCrashLoopSendKillAPI(t *testing.T) {
	sendCrashLoop(t, 20260911, 20, (*stack).restartAPIHard)
}

// The relay is killed with SIGKILL while the api sends, and restarted.
func TestCrashLoopSendKillRelay(t *testing.T) {
	sendCrashLoop(t, 20260912, 20, (*stack).restartRelayHard)
}

// The modem is unplugged while the api sends, and plugged back in.
func TestCrashLoopSendUnplug(t *testing.T) {
	sendCrashLoop(t, 20260913, 20, (*stack).replug)
}
