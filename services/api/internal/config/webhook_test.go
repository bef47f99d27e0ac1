package config

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWebhookAndStreamSettings(t *testing.T) {
	c, err := Parse(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.WebhookURL != "" || c.WebhookEvents != nil || c.WebhookTimeout != 10*time.Second || c.WebhookRetryMin != time.Second ||
		c.WebhookRetryMax != 10*time.Minute || c.WebhookMaxAge != 24*time.Hour || c.SSEMaxStreams != 32 || c.SSEKeepAlive != 15*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = Parse([]string{"-webhook-max-age", "1h"}, env(map[string]string{
		"API_WEBHOOK_URL": "https://receiver.example/hook", "API_WEBHOOK_SECRET": "0123456789abcdef",
		"API_WEBHOOK_EVENTS": "sms.received, message.*", "API_SSE_MAX_STREAMS": "5",
	}), io.Discard)
	if err != nil || c.WebhookURL != "https://receiver.example/hook" || !slices.Equal(c.WebhookEvents, []string{"sms.received", "message.*"}) ||
		c.WebhookMaxAge != time.Hour || c.SSEMaxStreams != 5 {
		t.Fatalf("%+v %v", c, err)
	}
	_, err = Parse(nil, env(map[string]string{
		"API_WEBHOOK_URL": "https://receiver.example/hook", "API_WEBHOOK_EVENTS": "sms.nope",
		"API_WEBHOOK_RETRY_MIN": "1m", "API_WEBHOOK_RETRY_MAX": "1s", "API_SSE_MAX_STREAMS": "0",
	}), io.Discard)
	for _, want := range []string{"API_WEBHOOK_SECRET", "API_WEBHOOK_EVENTS", "API_WEBHOOK_RETRY_MAX", "API_SSE_MAX_STREAMS"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	_, err = Parse(nil, env(map[string]string{"API_WEBHOOK_URL": "ftp://x/", "API_WEBHOOK_SECRET": "0123456789abcdef"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "API_WEBHOOK_URL") {
		t.Errorf("ftp: %v", err)
	}
}
