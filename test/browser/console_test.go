//go:build linux

package browser

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// browser is one headless Chromium; each page is a tab.
type browser struct {
	t       *testing.T
	ctx     context.Context
	shots   string // the screenshots' folder
	mu      sync.Mutex
	faults  []string // script exceptions, console errors, CSP violations
	streams []string // the Last-Event-ID of every GET /v1/events ("" none)
	reads   int      // GET /v1/modem/status requests: the page must not poll
}

// streamRequests returns the Last-Event-ID headers of the event stream
// requests since the last call.
func (b *browser) streamRequests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.streams
	b.streams = nil
	return s
}

// offline takes the tab off the network or back.
func offline(t *testing.T, ctx context.Context, off bool) {
	t.Helper()
	do(t, ctx, "offline "+strconv.FormatBool(off), chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: off, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	}))
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	if chromiumBin == "" {
		t.Skip("chromium is not installed (Debian: apt-get install chromium); CI=true makes this a failure")
	}
	shots := os.Getenv("BROWSER_SCREENSHOTS")
	if shots == "" {
		shots = "screenshots"
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumBin),
		chromedp.NoSandbox, // root in CI containers
		chromedp.WindowSize(1280, 860),
		chromedp.Flag("lang", "en-GB"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, shots: shots}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", chromiumBin, err)
	}
	return b
}

// tab opens a new tab that records its page's faults.
func (b *browser) tab() context.Context {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	if err := chromedp.Listen(ctx, func(ev any) {
		var fault string
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			fault = "exception: " + ev.ExceptionDetails.Text
			if ev.ExceptionDetails.Exception != nil {
				fault += " " + ev.ExceptionDetails.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				fault = "console.error"
				for _, a := range ev.Args {
					fault += " " + string(a.Value) + a.Description
				}
			}
		case *network.EventRequestWillBeSent:
			if strings.HasSuffix(ev.Request.URL, "/v1/modem/status") {
				b.mu.Lock()
				b.reads++
				b.mu.Unlock()
			}
			if strings.HasSuffix(ev.Request.URL, "/v1/events") {
				id, _ := ev.Request.Headers["Last-Event-ID"].(string)
				b.mu.Lock()
				b.streams = append(b.streams, id)
				b.mu.Unlock()
			}
		case *cdplog.EventEntryAdded:
			// Refused resources (the wrong key's 401) are network entries
			// and expected; a CSP violation is a security entry.
			if ev.Entry.Source != cdplog.EntrySourceNetwork && ev.Entry.Level == cdplog.EntryLevelError {
				fault = string(ev.Entry.Source) + ": " + ev.Entry.Text
			}
		}
		if fault != "" {
			b.mu.Lock()
			b.faults = append(b.faults, fault)
			b.mu.Unlock()
		}
	}); err != nil {
		b.t.Fatal(err)
	}
	return ctx
}

// faultsSoFar fails the test on any fault a page recorded.
func (b *browser) checkFaults() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, f := range b.faults {
		b.t.Errorf("the page reported: %s", f)
	}
	b.faults = nil
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitFor waits until the JavaScript expression is truthy.
func waitFor(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(tctx, chromedp.Poll[any](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main").innerText`))
		t.Fatalf("waiting for %s (%s): %v\nthe page shows:\n%s", what, expr, err, text)
	}
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// js quotes s as a JavaScript string.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// shot saves a screenshot of the viewport as name.png.
func (b *browser) shot(ctx context.Context, name string) string {
	b.t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return p
}

func signIn(t *testing.T, ctx context.Context, key string) {
	t.Helper()
	do(t, ctx, "sign in (with the keyboard: the key, then Enter)",
		chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), key+kb.Enter),
	)
}

// TestConsole drives the console like a person would, against the real
// stack: a wrong key, sign-in, the status, SMS arriving live (also across
// an api restart), an injection shown inertly, a multi-part Unicode SMS
// sent and delivered, USSD, the admin's AT console, a user's view, a
// phone's screen and dark mode.
func TestConsole(t *testing.T) {
	b := newBrowser(t)
	s := newStack(t)
	base := "http://" + s.api + "/"
	ctx := b.tab()

	// A wrong key is refused and nothing else is shown.
	do(t, ctx, "open the console", chromedp.Navigate(base))
	signIn(t, ctx, "not-a-key-0123456789")
	waitFor(t, ctx, "the refusal", `document.getElementById("signin-error").textContent.includes("Refused")`)
	if eval[bool](t, ctx, `!document.getElementById("nav").hidden || !document.getElementById("page-status").hidden`) {
		t.Error("with a wrong key the console shows more than the sign-in")
	}
	b.shot(ctx, "signin-refused")
	if eval[bool](t, ctx, `sessionStorage.length > 0 || document.cookie !== ""`) {
		t.Error("a refused key was kept")
	}
	eval[any](t, ctx, `document.getElementById("key").value = ""`)

	// Sign in as admin: the status page with the modem's identity.
	var st struct {
		Identity struct {
			IMEI     string `json:"imei"`
			Model    string `json:"model"`
			Operator string `json:"operator"`
		} `json:"identity"`
		Status struct {
			Operator string `json:"operator"`
		} `json:"status"`
	}
	s.call("GET", "http://"+s.api+"/v1/modem/status", adminKey, "", &st)
	signIn(t, ctx, adminKey)
	waitFor(t, ctx, "the live event stream", `document.getElementById("live").textContent === "live"`)
	waitFor(t, ctx, "the status", `document.getElementById("st-identity").textContent.includes(`+js(st.Identity.IMEI)+`)
		&& document.getElementById("st-network").textContent.includes(`+js(st.Status.Operator)+`)
		&& document.getElementById("sig-dbm").textContent.endsWith("dBm")
		&& document.querySelector("#sig-chart polyline, #sig-chart circle") !== null`)
	if got := eval[string](t, ctx, `sessionStorage.getItem("sma-key")`); got != adminKey || eval[string](t, ctx, `document.cookie`) != "" {
		t.Errorf("the key is kept as %q in sessionStorage, cookies %q", got, eval[string](t, ctx, `document.cookie`))
	}
	if !eval[bool](t, ctx, `!document.querySelector('nav [data-page="at"]').hidden`) {
		t.Error("an admin does not see the AT console")
	}
	// A reload would clear this; it must survive every live update below.
	eval[any](t, ctx, `window.__sameDocument = true`)

	// An SMS arrives while the inbox is on screen: it appears, unread.
	do(t, ctx, "open the inbox with the keyboard", chromedp.SendKeys(chromedp.CSS(`nav [data-page="inbox"]`), kb.Enter))
	waitFor(t, ctx, "the inbox", `!document.getElementById("page-inbox").hidden`)
	if o := eval[string](t, ctx, `document.activeElement.matches(":focus-visible") ? getComputedStyle(document.activeElement).outlineStyle : "not focus-visible"`); o != "solid" {
		t.Errorf("the button focused with the keyboard shows no focus outline: %s", o)
	}
	s.sim("POST", "/sms", `{"from":"+436601112223","text":"Hello from the network, live"}`, nil)
	waitFor(t, ctx, "the new SMS in the inbox", `document.getElementById("conversations").textContent.includes("Hello from the network, live")
		&& document.querySelector("#conversations .conv.unread") !== null && document.getElementById("unread").textContent === "1"`)

	// An injection attempt arrives: shown as its characters, nothing runs.
	const injection = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script><b>bold</b>`
	s.sim("POST", "/sms", `{"from":"+436609998887","text":`+js(injection)+`}`, nil)
	waitFor(t, ctx, "the injection SMS", `document.getElementById("conversations").textContent.includes(`+js(injection)+`)`)
	do(t, ctx, "open its conversation", chromedp.Click(chromedp.CSS(`#conversations button[data-from="+436609998887"]`)))
	waitFor(t, ctx, "the thread", `document.getElementById("thread").textContent.includes(`+js(injection)+`)`)
	if n := eval[int](t, ctx, `document.querySelectorAll("main img, main script, main b").length`); n != 0 {
		t.Errorf("the SMS's markup became %d elements", n)
	}
	if eval[bool](t, ctx, `window.__pwned !== undefined`) {
		t.Error("the SMS's script ran")
	}
	// Opening the conversation marked it read (in the api too).
	waitFor(t, ctx, "the conversation read", `document.querySelector('#conversations button[data-from="+436609998887"]').classList.contains("unread") === false`)
	b.shot(ctx, "inbox")

	// A concatenated SMS whose second part never comes: after
	// API_INBOX_INCOMPLETE_AFTER it arrives marked incomplete.
	from, _ := pdu.ParseAddress("+436605554443")
	_, uds, err := pdu.SplitText(strings.Repeat("Part of a long message. ", 18), 0x42, false)
	if err != nil || len(uds) != 3 {
		t.Fatalf("split: %d parts, %v", len(uds), err)
	}
	for _, i := range []int{0, 2} {
		tp, err := (&pdu.Deliver{Originator: from, DCS: pdu.NewDCS(pdu.AlphabetGSM7, -1), Timestamp: time.Now(), UD: uds[i]}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		s.sim("POST", "/sms", `{"pdu":"00`+hex.EncodeToString(tp)+`"}`, nil)
	}
	waitFor(t, ctx, "the incomplete SMS", `document.querySelector('#conversations button[data-from="+436605554443"]') !== null`)
	do(t, ctx, "open it", chromedp.Click(chromedp.CSS(`#conversations button[data-from="+436605554443"]`)))
	waitFor(t, ctx, "the incomplete mark", `document.getElementById("thread").textContent.includes("incomplete: part 2 missing")`)
	b.shot(ctx, "inbox-incomplete")

	// The api restarts while the page stays open; an SMS arrives while it
	// is down. The stream reconnects with Last-Event-ID and gets the
	// event the api logged before the browser was back.
	// The browser is kept offline until the api has stored the SMS (and
	// logged its event), so only a resumed stream can show it.
	offline(t, ctx, true)
	b.streamRequests()
	s.restartAPI(func() {
		s.sim("POST", "/sms", `{"from":"+436601112223","text":"Sent while the api was down"}`, nil)
	})
	s.waitInbox("Sent while the api was down")
	offline(t, ctx, false)
	waitFor(t, ctx, "the SMS from the restart", `document.getElementById("conversations").textContent.includes("Sent while the api was down")`)
	if ids := b.streamRequests(); len(ids) == 0 || ids[len(ids)-1] == "" {
		t.Errorf("the event stream was reopened with Last-Event-ID %q", ids)
	}

	// Send a multi-part Unicode SMS from the form: the preview says what
	// the api says, the simulator receives it, the reports deliver it.
	text := strings.Repeat("Grüße aus Wien 👋 — Привет! ", 6) + "<end>"
	var want struct {
		Encoding string `json:"encoding"`
		Parts    int    `json:"parts"`
	}
	s.call("POST", "http://"+s.api+"/v1/messages/preview", userKey, `{"text":`+js(text)+`}`, &want)
	if want.Encoding != "ucs2" || want.Parts != 3 {
		t.Fatalf("the test's text is %s in %d parts; want ucs2 in 3", want.Encoding, want.Parts)
	}
	s.sim("DELETE", "/sent", "", nil)
	do(t, ctx, "fill in the send form",
		chromedp.Click(chromedp.CSS(`nav [data-page="send"]`)),
		chromedp.SendKeys(chromedp.ID("send-to"), "0660 1234567"),
		chromedp.Focus(chromedp.ID("send-text")),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			// Typed in three pieces: the preview follows while typing.
			for _, piece := range []string{text[:40], text[40:150], text[150:]} {
				if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: piece}); err != nil {
					return err
				}
			}
			return nil
		}),
	)
	waitFor(t, ctx, "the preview", `document.getElementById("send-preview").dataset.parts === `+js(strconv.Itoa(want.Parts))+`
		&& document.getElementById("send-preview").dataset.encoding === `+js(want.Encoding)+`
		&& document.getElementById("send-preview").textContent.includes("UCS-2 because of")`)
	b.shot(ctx, "send")
	do(t, ctx, "send", chromedp.Click(chromedp.ID("send-button")))
	waitFor(t, ctx, "the message delivered", `[...document.querySelectorAll('#outbox li[data-state="delivered"]')].some(li =>
		li.querySelector(".text").textContent === `+js(text)+` && li.querySelectorAll(".chip.state-delivered").length === 3)`)
	var sent []struct {
		Recipient             string `json:"recipient"`
		Text                  string `json:"text"`
		Alphabet              string `json:"alphabet"`
		Parts                 []any  `json:"parts"`
		StatusReportRequested bool   `json:"statusReportRequested"`
	}
	s.sim("GET", "/sent", "", &sent)
	if len(sent) != 1 || sent[0].Recipient != "+436601234567" || sent[0].Text != text || len(sent[0].Parts) != 3 || !sent[0].StatusReportRequested {
		t.Errorf("the simulator sent %+v; want once to +436601234567, the text in 3 parts with reports", sent)
	}
	b.shot(ctx, "sent")

	// USSD: the balance.
	do(t, ctx, "check the balance",
		chromedp.Click(chromedp.CSS(`nav [data-page="ussd"]`)),
		chromedp.Click(chromedp.CSS(`#ussd button[type="submit"]`)))
	waitFor(t, ctx, "the USSD answer", `document.getElementById("ussd-result").textContent.includes("Your balance is EUR 12.34")`)
	b.shot(ctx, "ussd")

	// The raw AT console (admin).
	do(t, ctx, "run AT+CSQ",
		chromedp.Click(chromedp.CSS(`nav [data-page="at"]`)),
		chromedp.Click(chromedp.CSS(`#at button[type="submit"]`)))
	waitFor(t, ctx, "the AT answer", `/\+CSQ: \d+,\d+\nOK$/.test(document.getElementById("at-result").textContent)`)
	b.shot(ctx, "at")

	// The signal's history: the stream's live modem.status at every poll
	// of the api (the signal alone changes no stored event), and no
	// polling by the page.
	do(t, ctx, "open the status", chromedp.Click(chromedp.CSS(`nav [data-page="status"]`)))
	b.mu.Lock()
	readsBefore := b.reads
	b.mu.Unlock()
	for i, n := range []struct{ rssi, reg int }{{14, 1}, {22, 1}, {9, 1}, {19, 5}, {25, 5}, {21, 1}} {
		s.sim("PUT", "/network", `{"rssi":`+strconv.Itoa(n.rssi)+`,"reg":`+strconv.Itoa(n.reg)+`}`, nil)
		dbm := -113 + 2*n.rssi
		waitFor(t, ctx, "signal sample "+strconv.Itoa(i), `document.getElementById("sig-dbm").textContent === "`+strconv.Itoa(dbm)+` dBm"`)
	}
	if n := eval[int](t, ctx, `document.querySelector("#sig-chart polyline").getAttribute("points").split(" ").length`); n < 6 {
		t.Errorf("the signal chart has %d points; want at least 6", n)
	}
	b.mu.Lock()
	polled := b.reads - readsBefore
	b.mu.Unlock()
	if polled != 0 {
		t.Errorf("the page read GET /v1/modem/status %d times while following the signal; want none (live modem.status)", polled)
	}
	statusShot := b.shot(ctx, "status")

	// A phone's screen, then dark mode.
	do(t, ctx, "a phone's screen", chromedp.EmulateViewport(390, 844), chromedp.Click(chromedp.CSS(`nav [data-page="inbox"]`)))
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("on a 390 px wide screen the page is %d px wide (scrolls sideways)", w)
	}
	b.shot(ctx, "inbox-phone")
	do(t, ctx, "dark mode",
		chromedp.EmulateViewport(1280, 860),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
			return err
		}),
		chromedp.Click(chromedp.CSS(`nav [data-page="status"]`)))
	if bg := eval[string](t, ctx, `getComputedStyle(document.body).backgroundColor`); bg != "rgb(17, 19, 24)" {
		t.Errorf("dark mode: the background is %s", bg)
	}
	b.shot(ctx, "status-dark")
	if !eval[bool](t, ctx, `window.__sameDocument === true`) {
		t.Error("the page was reloaded")
	}

	// A user's key: no AT console, and the api refuses it anyway.
	uctx := b.tab()
	do(t, uctx, "open the console as a user", chromedp.Navigate(base))
	signIn(t, uctx, userKey)
	waitFor(t, uctx, "the user's session", `document.getElementById("role").textContent === "user" && document.getElementById("live").textContent === "live"`)
	if eval[bool](t, uctx, `!document.querySelector('nav [data-page="at"]').hidden`) {
		t.Error("a user sees the AT console")
	}
	if code := s.call("POST", "http://"+s.api+"/v1/at", userKey, `{"command":"AT+CSQ"}`, nil); code != 403 {
		t.Errorf("POST /v1/at with the user key: %d", code)
	}
	// The console's stream parser, split anywhere.
	sseParserSplitAnywhere(t, uctx)
	b.checkFaults()

	if os.Getenv("UPDATE_SCREENSHOT") == "1" && !t.Failed() {
		png, err := os.ReadFile(statusShot)
		if err != nil {
			t.Fatal(err)
		}
		if len(png) > 200<<10 {
			t.Fatalf("%s is %d bytes; the README's screenshot must stay under 200 KB", statusShot, len(png))
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "console.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("docs/console.png updated")
	}
}

// sseParserSplitAnywhere feeds testdata/sse-stream.txt (LF, CRLF and CR
// line ends, comments, multi-line data, an id-only event, retry, a
// trailing event without its blank line) to the console's SSEParser in
// one piece and in 3,000 random splittings (also between CR and LF), in
// the page, and compares the events with the expected ones.
func sseParserSplitAnywhere(t *testing.T, ctx context.Context) {
	t.Helper()
	stream, err := os.ReadFile(filepath.Join("testdata", "sse-stream.txt"))
	if err != nil {
		t.Fatal(err)
	}
	type ev struct {
		ID   *string `json:"id"`
		Type string  `json:"type"`
		Data *string `json:"data"`
	}
	str := func(s string) *string { return &s }
	want := []ev{
		{str("1"), "sms.received", str(`{"seq":1,"text":"a:b"}`)},
		{str("2"), "message.sent", str("{\"seq\":2,\n\"two\":\"lines\"}")},
		{str("3"), "message.delivered", str(`{"seq":3,"text":"grüße 👋"}`)},
		{str("4"), "message", nil},
		{str("5"), "modem.sim", str(`{"seq":5}`)},
		{nil, "message", str(`{"seq":6}`)},
	}
	wantJSON, _ := json.Marshal(want)
	got := eval[string](t, ctx, `(() => {
		const text = `+js(string(stream))+`, want = `+string(wantJSON)+`;
		const run = (chunks) => {
			const p = new SSEParser(), evs = [];
			for (const c of chunks) evs.push(...p.push(c));
			return JSON.stringify({evs, retry: p.retry});
		};
		const expect = JSON.stringify({evs: want, retry: 3500});
		const whole = run([text]);
		if (whole !== expect) return "in one piece: " + whole + "\nwant " + expect;
		const cps = Array.from(text);
		let seed = 42;
		const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
		for (let i = 0; i < 3000; i++) {
			const chunks = [];
			for (let at = 0; at < cps.length;) {
				const n = 1 + rnd(i % 3 === 0 ? 3 : 40);
				chunks.push(cps.slice(at, at + n).join(""));
				at += n;
			}
			const got = run(chunks);
			if (got !== expect) return "split " + JSON.stringify(chunks) + ": " + got;
		}
		return "";
	})()`)
	if got != "" {
		t.Errorf("SSEParser: %s", got)
	}
}
