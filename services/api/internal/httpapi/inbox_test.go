package httpapi

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/apikeys"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// inboxRig is the app over a real store in a temporary directory.
type inboxRig struct {
	app   *fiber.App
	st    *store.Store
	modem int64
	index int
}

func newInboxRig(t *testing.T) *inboxRig {
	t.Helper()
	st, err := store.OpenDir(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	modem, err := st.UpsertModem(context.Background(), store.ModemIdentity{IMSI: "232011234567890", IMEI: "866948013728723"})
	if err != nil {
		t.Fatal(err)
	}
	app := New(Deps{Inbox: st, Keys: apikeys.New([]string{userKey}, []string{adminKey}), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() { app.Shutdown() })
	return &inboxRig{app: app, st: st, modem: modem}
}

// deliver stores the SMS-DELIVER parts of a message as the sweep would.
func (r *inboxRig) deliver(t *testing.T, from string, dcs pdu.DCS, ts time.Time, uds ...pdu.UserData) *store.Message {
	t.Helper()
	orig, err := pdu.ParseAddress(from)
	if err != nil {
		t.Fatal(err)
	}
	smsc, _ := pdu.ParseAddress("+436640501")
	pre, err := pdu.EncodeSMSC(smsc)
	if err != nil {
		t.Fatal(err)
	}
	var m *store.Message
	for _, ud := range uds {
		tp, err := (&pdu.Deliver{Originator: orig, DCS: dcs, Timestamp: ts, UD: ud}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		r.index++
		res, err := r.st.SavePart(context.Background(), store.InboundPart{ModemID: r.modem, Storage: "SM", Index: r.index,
			PDUHex: hex.EncodeToString(append(append([]byte(nil), pre...), tp...))})
		if err != nil {
			t.Fatal(err)
		}
		m = res.Message
	}
	return m
}

func (r *inboxRig) get(t *testing.T, method, path string, out any) int {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("Authorization", "Bearer "+userKey)
	resp, err := r.app.Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func TestInboxListsEveryField(t *testing.T) {
	r := newInboxRig(t)
	vienna := time.FixedZone("", 2*3600)
	ts := time.Date(2025, 6, 1, 14, 30, 5, 0, vienna)
	_, uds, err := pdu.SplitText(strings.Repeat("😀", 40)+"🇦🇹", 0xBEEF, true)
	if err != nil || len(uds) != 2 {
		t.Fatalf("split: %d, %v", len(uds), err)
	}
	r.deliver(t, "+436601234567", pdu.NewDCS(pdu.AlphabetUCS2, -1), ts, uds[1], uds[0])
	r.deliver(t, "MyBank", pdu.NewDCS(pdu.AlphabetGSM7, 0), ts, pdu.UserData{Text: "Code {123}"})
	r.deliver(t, "+491701234567", pdu.NewDCS(pdu.Alphabet8Bit, -1), ts, pdu.UserData{Data: []byte{0xCA, 0xFE}})
	var page InboxPage
	if code := r.get(t, "GET", "/v1/inbox", &page); code != 200 || len(page.Messages) != 3 || page.Next != "" {
		t.Fatalf("GET /v1/inbox: %d %+v", code, page)
	}
	data, flash, uni := page.Messages[0], page.Messages[1], page.Messages[2] // newest first
	if uni.From != "+436601234567" || uni.Text != strings.Repeat("😀", 40)+"🇦🇹" || uni.Encoding != "ucs2" || uni.PartCount != 2 ||
		uni.Class0 || uni.SMSC != "+436640501" || uni.SCTime != "2025-06-01T14:30:05+02:00" || uni.State != "received" ||
		uni.Incomplete || uni.Read || uni.ReceivedAt.IsZero() || len(uni.Parts) != 0 {
		t.Errorf("UCS-2 message %+v", uni)
	}
	if flash.From != "MyBank" || flash.Text != "Code {123}" || flash.Encoding != "gsm7" || !flash.Class0 {
		t.Errorf("flash message %+v", flash)
	}
	if data.DataHex != "CAFE" || data.Text != "" || data.Encoding != "8bit" {
		t.Errorf("data message %+v", data)
	}
	// GET one: its raw parts, and it is read from now on.
	var one InboxMessage
	if code := r.get(t, "GET", "/v1/inbox/"+uni.ID, &one); code != 200 || !one.Read || len(one.Parts) != 2 ||
		one.Parts[0].Seq != 1 || one.Parts[1].Seq != 2 || one.Parts[0].PDU == "" || one.Parts[0].Storage != "SM" {
		t.Fatalf("GET /v1/inbox/%s: %d %+v", uni.ID, code, one)
	}
	page = InboxPage{}
	if code := r.get(t, "GET", "/v1/inbox?unread=true", &page); code != 200 || len(page.Messages) != 2 {
		t.Fatalf("unread: %d %+v", code, page)
	}
	page = InboxPage{}
	if code := r.get(t, "GET", "/v1/inbox?from="+url.QueryEscape("+491701234567"), &page); code != 200 || len(page.Messages) != 1 || page.Messages[0].ID != data.ID {
		t.Fatalf("from: %d %+v", code, page)
	}
	page = InboxPage{}
	if code := r.get(t, "GET", "/v1/inbox?since="+url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)), &page); code != 200 || len(page.Messages) != 0 {
		t.Fatalf("since: %d %+v", code, page)
	}
	// DELETE, then it is gone.
	if code := r.get(t, "DELETE", "/v1/inbox/"+flash.ID, nil); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	for _, m := range []string{"GET", "DELETE"} {
		var e Error
		if code := r.get(t, m, "/v1/inbox/"+flash.ID, &e); code != 404 || e.Code != "not_found" {
			t.Errorf("%s after DELETE: %d %+v", m, code, e)
		}
	}
}

func TestInboxPagesWithACursor(t *testing.T) {
	r := newInboxRig(t)
	for i := range 7 {
		r.deliver(t, "+436601234567", pdu.NewDCS(pdu.AlphabetGSM7, -1), time.Now(), pdu.UserData{Text: "n" + string(rune('0'+i))})
	}
	seen := map[string]bool{}
	path := "/v1/inbox?limit=3"
	for pages := 0; ; pages++ {
		var page InboxPage
		if code := r.get(t, "GET", path, &page); code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
		for _, m := range page.Messages {
			if seen[m.ID] {
				t.Fatalf("%s repeated", m.ID)
			}
			seen[m.ID] = true
		}
		if page.Next == "" {
			break
		}
		if pages > 5 {
			t.Fatal("no end")
		}
		path = "/v1/inbox?limit=3&cursor=" + url.QueryEscape(page.Next)
	}
	if len(seen) != 7 {
		t.Fatalf("%d messages seen, want 7", len(seen))
	}
}

func TestInboxQueryValidation(t *testing.T) {
	r := newInboxRig(t)
	for _, c := range []struct{ path, field string }{
		{"/v1/inbox?limit=0", "limit"},
		{"/v1/inbox?limit=501", "limit"},
		{"/v1/inbox?limit=x", "limit"},
		{"/v1/inbox?unread=maybe", "unread"},
		{"/v1/inbox?since=yesterday", "since"},
		{"/v1/inbox?cursor=AAAAAAAAAA", "cursor"},
		{"/v1/inbox?from=", "from"},
		{"/v1/inbox?page=2", "page"},
		{"/v1/inbox?limit=1&limit=2", "limit"},
		{"/v1/reports?unmatched=yes", "unmatched"},
		{"/v1/reports?limit=-1", "limit"},
		{"/v1/reports?state=x", "state"},
	} {
		var e Error
		code := r.get(t, "GET", c.path, &e)
		if code != 400 || len(e.Fields) != 1 || e.Fields[0].Field != c.field {
			t.Errorf("GET %s: %d %+v; want 400 naming %s", c.path, code, e, c.field)
		}
	}
}

func TestReportsListsUnmatched(t *testing.T) {
	r := newInboxRig(t)
	to, _ := pdu.ParseAddress("+436601234567")
	ts := time.Date(2025, 6, 1, 14, 30, 5, 0, time.UTC)
	tp, err := (&pdu.StatusReport{MessageRef: 42, Recipient: to, SCTimestamp: ts, DischargeTime: ts.Add(time.Minute), Status: 0x46}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.SaveReport(context.Background(), store.ReportPart{ModemID: r.modem, Storage: "SR", Index: 0, PDUHex: "00" + hex.EncodeToString(tp)}); err != nil {
		t.Fatal(err)
	}
	var out struct{ Reports []ReportJSON }
	if code := r.get(t, "GET", "/v1/reports?unmatched=true", &out); code != 200 || len(out.Reports) != 1 {
		t.Fatalf("GET /v1/reports: %d %+v", code, out)
	}
	rep := out.Reports[0]
	if rep.Matched || rep.Reference != 42 || rep.Recipient != "+436601234567" || rep.Status != 0x46 || rep.Outcome != "failed" ||
		rep.StatusText == "" || rep.SCTime == nil || !rep.SCTime.Equal(ts) || rep.DischargeTime == nil || rep.MessageID != "" {
		t.Fatalf("report %+v", rep)
	}
}

func TestInboxWithoutStore(t *testing.T) {
	app := New(Deps{Keys: apikeys.New([]string{userKey}, nil), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer app.Shutdown()
	req := httptest.NewRequest("GET", "/v1/inbox", nil)
	req.Header.Set("Authorization", "Bearer "+userKey)
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("GET /v1/inbox without a store: %d", resp.StatusCode)
	}
}
