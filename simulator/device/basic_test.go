package device

import (
	"testing"
)

func TestBasicEcho(t *testing.T) {
	r := newRig(t, Config{})
	tests := []struct{ send, want string }{
		{"AT\r", "AT\r\r\nOK\r\n"},
		{"at\r", "at\r\r\nOK\r\n"},
		{"At\r", "At\r\r\nOK\r\n"},
		{"AT+CGMI\r", "AT+CGMI\r\r\nZTE CORPORATION\r\n\r\nOK\r\n"},
		{"AT+CGMM\r", "AT+CGMM\r\r\nMF831\r\n\r\nOK\r\n"},
		{"ATX9\r", "ATX9\r\r\nERROR\r\n"},
		{"AT+FOO\r", "AT+FOO\r\r\nERROR\r\n"},
		{"AT\r\n", "AT\r\r\nOK\r\n\n"}, // LF after CR is echoed after the response
		{"AT\n", "AT\n\r\nOK\r\n"},
		{"ATT\x08\r", "ATT\x08\r\r\nOK\r\n"},
		{"\r", "\r"},
		{"hello\r", "hello\r"},
	}
	for _, tt := range tests {
		r.send(tt.send)
		r.expect(tt.want)
	}
	r.cmd("ATE0", "ATE0\r\r\nOK\r\n")
	r.cmd("AT", "\r\nOK\r\n")
	r.cmd("AT+CGMR", "\r\nBD_HOFATMF831V1.0.0B02\r\n\r\nOK\r\n")
	r.cmd("ATE1", "\r\nOK\r\n")
	r.cmd("AT", "AT\r\r\nOK\r\n")
}

func TestATI(t *testing.T) {
	r := newRig(t, Config{})
	r.quiet()
	r.cmd("ATI", "\r\nManufacturer: ZTE CORPORATION\r\nModel: MF831\r\nRevision: BD_HOFATMF831V1.0.0B02\r\nIMEI: 866948015551230\r\n+GCAP: +CGSM\r\n\r\nOK\r\n")
}
