package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestRetentionAndRetry(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	c, err := Parse(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Retention != 90*24*time.Hour || c.RetryMin != 2*time.Second || c.RetryMax != 5*time.Minute || c.RetryMaxAge != 24*time.Hour {
		t.Fatalf("defaults %v %v %v %v", c.Retention, c.RetryMin, c.RetryMax, c.RetryMaxAge)
	}
	for _, off := range []string{"0", "off", "OFF"} {
		c, err := Parse(nil, env(map[string]string{"API_RETENTION": off}), io.Discard)
		if err != nil || c.Retention != 0 {
			t.Fatalf("API_RETENTION=%s: %v %v", off, c, err)
		}
	}
	c, err = Parse([]string{"-retention", "720h", "-retry-min", "100ms", "-retry-max", "1s", "-retry-max-age", "1h"}, env(nil), io.Discard)
	if err != nil || c.Retention != 720*time.Hour || c.RetryMin != 100*time.Millisecond || c.RetryMax != time.Second || c.RetryMaxAge != time.Hour {
		t.Fatalf("flags: %+v %v", c, err)
	}
	for _, bad := range []map[string]string{
		{"API_RETENTION": "30m"},
		{"API_RETENTION": "forever"},
		{"API_RETRY_MIN": "10s", "API_RETRY_MAX": "1s"},
		{"API_RETRY_MAX_AGE": "-1h"},
	} {
		_, err := Parse(nil, env(bad), io.Discard)
		for k := range bad {
			if err == nil || !strings.Contains(err.Error(), "API_RETR") && !strings.Contains(err.Error(), k) {
				t.Errorf("%v: %v", bad, err)
			}
		}
	}
}
