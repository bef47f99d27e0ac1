package device

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func luhnValid(s string) bool {
	sum := 0
	for i := 0; i < len(s); i++ {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func TestDefaults(t *testing.T) {
	d, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := d.Config()
	if !luhnValid(c.IMEI) || len(c.IMEI) != 15 {
		t.Errorf("IMEI %s: want 15 digits with a valid Luhn check digit", c.IMEI)
	}
	if !luhnValid(c.ICCID) || len(c.ICCID) < 19 {
		t.Errorf("ICCID %s: want 19-20 digits with a valid Luhn check digit", c.ICCID)
	}
	if c.Manufacturer != "ZTE CORPORATION" || c.Model != "MF831" || c.SMSC != "+4365009000000" ||
		c.SMCapacity != 30 || c.MECapacity != 100 || c.SRCapacity != 20 || c.PIN != "1234" || c.PUK != "12345678" {
		t.Errorf("defaults: %+v", c)
	}
	if st, pin, puk := d.SIM(); st != SIMReady || pin != 3 || puk != 10 {
		t.Errorf("SIM() = %v, %d, %d", st, pin, puk)
	}
	if d.Network() != DefaultNetwork || d.ReportMode() != ReportDeliver {
		t.Errorf("Network() = %+v, ReportMode() = %v", d.Network(), d.ReportMode())
	}
	if d.Serving() {
		t.Error("Serving() before Serve")
	}
}

func TestConfigValidation(t *testing.T) {
	for _, c := range []Config{
		{IMEI: "123"},
		{IMSI: "12a"},
		{ICCID: "8943"},
		{PIN: "12"},
		{PUK: "1"},
		{SMCapacity: -1},
		{Profile: 7},
		{SIM: "lost"},
		{Network: &Network{RSSI: 99, BER: 99, Reg: 9, LAC: "1", CI: "1"}},
		{USSD: &USSDService{Codes: map[string]*USSDNode{"*1#": nil}}},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) succeeded", c)
		}
	}
}

func TestParseProfile(t *testing.T) {
	for s, want := range map[string]Profile{"instant": ProfileInstant, "Realistic": ProfileRealistic} {
		if p, err := ParseProfile(s); err != nil || p != want || !strings.EqualFold(p.String(), s) {
			t.Errorf("ParseProfile(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParseProfile("slow"); err == nil {
		t.Error("ParseProfile(slow) succeeded")
	}
}

// The realistic profile draws its delays from the seed; the instant
// profile has none. (No timing is measured.)
func TestProfileDelays(t *testing.T) {
	draw := func(p Profile, seed int64) []time.Duration {
		d, err := New(Config{Profile: p, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		var out []time.Duration
		d.mu.Lock()
		defer d.mu.Unlock()
		for i := 0; i < 50; i++ {
			out = append(out, d.delay(2*time.Second, 5*time.Second))
		}
		return out
	}
	for _, v := range draw(ProfileInstant, 1) {
		if v != 0 {
			t.Fatalf("instant profile delay %v", v)
		}
	}
	a, b := draw(ProfileRealistic, 1), draw(ProfileRealistic, 1)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different delays")
		}
		if a[i] < 2*time.Second || a[i] >= 5*time.Second {
			t.Fatalf("delay %v outside [2s, 5s)", a[i])
		}
	}
}

func TestLogging(t *testing.T) {
	var buf bytes.Buffer
	var mu lockedBuffer
	mu.buf = &buf
	r := newRig(t, Config{Logger: slog.New(slog.NewTextHandler(&mu, nil))})
	r.cmd("AT+CGMI", "AT+CGMI\r\r\nZTE CORPORATION\r\n\r\nOK\r\n")
	r.stop()
	out := mu.String()
	for _, want := range []string{`msg=command line=AT+CGMI`, `msg=response bytes="\\r\\nZTE CORPORATION\\r\\n\\r\\nOK\\r\\n"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

// The realistic profile answers the same bytes, only later.
func TestRealisticProfileAnswers(t *testing.T) {
	r := newRig(t, Config{Profile: ProfileRealistic, Seed: 5})
	r.cmd("AT", "AT\r\r\nOK\r\n")
	r.cmd("AT+CSQ", "AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n")
}
