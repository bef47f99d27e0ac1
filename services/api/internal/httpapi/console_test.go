package httpapi

import (
	"strings"
	"testing"
)

func TestWhoAmI(t *testing.T) {
	r := newRig(t, true)
	for _, tc := range []struct{ key, role string }{{userKey, "user"}, {adminKey, "admin"}} {
		code, m := r.do(t, "GET", "/v1/whoami", tc.key, "")
		if code != 200 || m["role"] != tc.role {
			t.Errorf("GET /v1/whoami with the %s key: %d %v", tc.role, code, m)
		}
	}
	if code, m := r.do(t, "GET", "/v1/whoami", "wrong-key-0123456789", ""); code != 401 || m["code"] != "unauthorized" {
		t.Errorf("GET /v1/whoami with a wrong key: %d %v", code, m)
	}
}

func TestMessagePreview(t *testing.T) {
	r := newRig(t, true) // the modem is not needed: nothing is sent
	long := strings.Repeat("Grüße 👋 ", 20)
	for _, tc := range []struct {
		name, body  string
		code        int
		enc         string
		parts, left float64
		to, toError string
	}{
		{"gsm7 with an extension character", `{"text":"Price: 5 €"}`, 200, "gsm7", 1, 149, "", ""},
		{"ucs2 multipart, national number", `{"text":"` + long + `","to":"0660 1234567"}`, 200, "ucs2", 3, 67*3 - 180, "+436601234567", ""},
		{"a bad recipient is reported, not refused", `{"text":"hi","to":"abc"}`, 200, "gsm7", 1, 158, "", "x"},
		{"text required", `{"to":"+436601234567"}`, 422, "", 0, 0, "", ""},
		{"strict body", `{"text":"hi","flash":true}`, 400, "", 0, 0, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, m := r.do(t, "POST", "/v1/messages/preview", userKey, tc.body)
			if code != tc.code {
				t.Fatalf("%d %v; want %d", code, m, tc.code)
			}
			if code != 200 {
				return
			}
			if m["encoding"] != tc.enc || m["parts"] != tc.parts || m["unitsLeft"] != tc.left || m["to"] != nilIfEmpty(tc.to) ||
				(tc.toError != "") != (m["toError"] != nil) {
				t.Errorf("preview %v; want %s, %v parts, %v left, to %q, toError %v", m, tc.enc, tc.parts, tc.left, tc.to, tc.toError != "")
			}
		})
	}
	if code, _ := r.do(t, "POST", "/v1/messages/preview", "", `{"text":"hi"}`); code != 401 {
		t.Errorf("preview without a key: %d", code)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
