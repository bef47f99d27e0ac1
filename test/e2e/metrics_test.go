//go:build linux

package e2e

import (
	"strings"
	"testing"
)

// The metrics name the modem (its IMEI): on the published API port they
// need a key; Prometheus scrapes the metrics listener, which compose does
// not publish.
func TestMetricsNeedAKeyOnTheAPIPort(t *testing.T) {
	s := newStack(t, stackOpts{})
	s.waitReady()
	if code, b := s.raw("GET", "http://"+s.api+"/metrics", "", ""); code != 401 || strings.Contains(string(b), "modem_info") {
		t.Fatalf("API port /metrics without a key: %d\n%.300s", code, b)
	}
	if code, b := s.raw("GET", "http://"+s.api+"/metrics", userKey, ""); code != 200 || !strings.Contains(string(b), "modem_up") {
		t.Fatalf("API port /metrics with a key: %d\n%.300s", code, b)
	}
	if m := s.metrics(); !strings.Contains(m, "\nmodem_up{modem=\"modem\"} 1\n") {
		t.Fatalf("metrics listener: modem_up is not 1:\n%.600s", m)
	}
}
