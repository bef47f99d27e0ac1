package mqttbridge

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseCommand(t *testing.T) {
	c, err := ParseCommand([]byte(` {"to":"+436601234567","text":"Hallo 👋","id":"k1","modem":"modem"} `))
	if err != nil || c.To != "+436601234567" || *c.Text != "Hallo 👋" || c.ID != "k1" || c.Modem != "modem" {
		t.Fatalf("%+v %v", c, err)
	}
	if r := c.Request(); r.ID != "k1" || *r.Text != "Hallo 👋" || r.Modem != "modem" {
		t.Errorf("request: %+v", r)
	}
	for _, bad := range []string{``, `[]`, `{"to":"1","text":"x","extra":1}`, `{"to":"1"}{}`, "{\"to\":\"\xff\"}", `"text"`,
		`{"to":"1","text":"x"`, strings.Repeat(" ", MaxCommand+1)} {
		if _, err := ParseCommand([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseNotify(t *testing.T) {
	for _, c := range []struct{ in, def, to, text string }{
		{"Water in the cellar", "+431234567", "+431234567", "Water in the cellar"},
		{"+436601234567: Smoke", "", "+436601234567", "Smoke"},
		{"+436601234567:Smoke: kitchen", "+43", "+436601234567", "Smoke: kitchen"},
		{"+1 is more: text", "+431234567", "+431234567", "+1 is more: text"},
	} {
		to, text, err := ParseNotify([]byte(c.in), c.def)
		if err != nil || to != c.to || text != c.text {
			t.Errorf("%q: %q %q %v", c.in, to, text, err)
		}
	}
	if _, _, err := ParseNotify([]byte("no recipient"), ""); err == nil || !strings.Contains(err.Error(), "API_MQTT_NOTIFY_TO") {
		t.Errorf("no recipient: %v", err)
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{`{"to":"+436601234567","text":"x","id":"a"}`, `{"to":1}`, `{}`, `null`, "\xff", `{"text":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			if c != (Command{}) {
				t.Fatalf("a command with the error %v: %+v", err, c)
			}
			return
		}
		if !utf8.Valid(b) || !json.Valid(b) {
			t.Fatalf("accepted %q", b)
		}
	})
}

func FuzzParseNotify(f *testing.F) {
	for _, s := range []string{"hello", "+436601234567: hi", "+: x", "+123456789012345678: y", "\xff"} {
		f.Add([]byte(s), "+431234567")
	}
	f.Fuzz(func(t *testing.T, b []byte, def string) {
		to, text, err := ParseNotify(b, def)
		if err != nil {
			return
		}
		if to == "" || !strings.HasSuffix(string(b), text) || !utf8.ValidString(text) {
			t.Fatalf("%q, %q: to %q text %q", b, def, to, text)
		}
	})
}
