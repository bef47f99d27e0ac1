package config

import (
	"io"
	"strings"
	"testing"
)

// API_MAX_PARTS: default 10, at most the 255 parts a concatenated SMS can
// have, validated at start with the variable named.
func TestMaxParts(t *testing.T) {
	for _, c := range []struct {
		env  string
		want int
		bad  bool
	}{
		{"", 10, false},
		{"1", 1, false},
		{"255", 255, false},
		{"0", 0, true},
		{"256", 0, true},
		{"ten", 0, true},
	} {
		got, err := Parse(nil, env(map[string]string{"API_MAX_PARTS": c.env}), io.Discard)
		switch {
		case c.bad && err == nil:
			t.Errorf("API_MAX_PARTS=%q: no error", c.env)
		case c.bad && !strings.Contains(err.Error(), `invalid API_MAX_PARTS="`+c.env+`" (env API_MAX_PARTS): want a whole number between 1 and 255`):
			t.Errorf("API_MAX_PARTS=%q: error does not name it with the range: %v", c.env, err)
		case !c.bad && err != nil:
			t.Errorf("API_MAX_PARTS=%q: %v", c.env, err)
		case !c.bad && got.MaxParts != c.want:
			t.Errorf("API_MAX_PARTS=%q: MaxParts %d, want %d", c.env, got.MaxParts, c.want)
		}
	}
}
