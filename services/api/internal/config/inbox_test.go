package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestInboxSettings(t *testing.T) {
	c, err := Parse(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.InboxSweep != 30*time.Second || c.InboxIncompleteAfter != 24*time.Hour {
		t.Fatalf("inbox defaults: sweep %v, incomplete after %v", c.InboxSweep, c.InboxIncompleteAfter)
	}
	c, err = Parse([]string{"-inbox-sweep", "500ms"}, env(map[string]string{"API_INBOX_INCOMPLETE_AFTER": "3s"}), io.Discard)
	if err != nil || c.InboxSweep != 500*time.Millisecond || c.InboxIncompleteAfter != 3*time.Second {
		t.Fatalf("inbox settings: %+v %v", c, err)
	}
	_, err = Parse(nil, env(map[string]string{"API_INBOX_SWEEP": "1ms", "API_INBOX_INCOMPLETE_AFTER": "soon"}), io.Discard)
	for _, want := range []string{"API_INBOX_SWEEP", "API_INBOX_INCOMPLETE_AFTER"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}
