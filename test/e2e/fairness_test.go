//go:build linux

package e2e

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// 200 clients read /info/signal-quality while 4 SMS are sent: every send
// is accepted and sent (reads never crowd out sends), and reads are
// answered, or refused with 429 only when their own queue is full. Before
// the job classes, 3 of the 4 sends got 429.
func TestReadsNeverStarveSends(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: []string{"API_QUEUE_SIZE=8", "API_SMS_PACING=100ms"}})
	s.ctlCall("PUT", "/faults", `{"delay":"20ms"}`, nil)
	var stop atomic.Bool
	var reads, refused, other atomic.Int32
	var otherMu sync.Mutex
	var others []string
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				var o struct {
					Result string `json:"result"`
				}
				switch code := s.call("GET", "/info/signal-quality", userKey, "", &o); {
				case code == 200 && o.Result == "SUCCESS":
					reads.Add(1)
				case code == 429 && o.Result == "UNAVAILABLE":
					refused.Add(1)
				default:
					other.Add(1)
					otherMu.Lock()
					others = append(others, o.Result)
					otherMu.Unlock()
				}
			}
		}()
	}
	var sends sync.WaitGroup
	codes := make([]int, 4)
	for i := range codes {
		sends.Add(1)
		go func() {
			defer sends.Done()
			var r smsResp
			codes[i] = s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"fair `+strings.Repeat("x", i+1)+`"}`, &r)
		}()
	}
	sends.Wait()
	stop.Store(true)
	wg.Wait()
	for i, c := range codes {
		if c != 200 {
			t.Errorf("send %d: %d", i, c)
		}
	}
	if n := len(s.sent()); n != 4 {
		t.Errorf("the simulator sent %d messages, want 4", n)
	}
	if other.Load() != 0 || reads.Load() == 0 {
		t.Fatalf("reads: %d answered, %d refused, %d other %v", reads.Load(), refused.Load(), other.Load(), others)
	}
	// Identical concurrent reads were coalesced into far fewer commands.
	csq := 0
	for _, x := range s.transcript() {
		if x.Command == "AT+CSQ" {
			csq++
		}
	}
	t.Logf("reads: %d answered, %d refused (read queue full); %d AT+CSQ reached the modem", reads.Load(), refused.Load(), csq)
	if csq >= int(reads.Load()) {
		t.Errorf("%d AT+CSQ for %d reads: not coalesced", csq, reads.Load())
	}
}

// API_MAX_PARTS states the limit: a longer text is refused with 400
// naming the field and the limit, before the modem.
func TestMaxPartsLimit(t *testing.T) {
	s := newStack(t, stackOpts{apiEnv: []string{"API_MAX_PARTS=2"}})
	var r struct {
		Code   string `json:"code"`
		Limit  int    `json:"limit"`
		Fields []struct{ Field, Message string }
	}
	if code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"`+strings.Repeat("x", 153*2+1)+`"}`, &r); code != 400 ||
		r.Code != "limit_exceeded" || r.Limit != 2 || len(r.Fields) != 1 || r.Fields[0].Field != "text" || !strings.Contains(r.Fields[0].Message, "at most 2") {
		t.Fatalf("%d %+v", code, r)
	}
	if code := s.call("POST", "/v1/sms", userKey, `{"to":"+436601234567","text":"`+strings.Repeat("x", 153*2)+`"}`, nil); code != 200 {
		t.Fatalf("2 parts: %d", code)
	}
	if sent := s.sent(); len(sent) != 1 || len(sent[0].Parts) != 2 {
		t.Fatalf("sent %+v", sent)
	}
}
