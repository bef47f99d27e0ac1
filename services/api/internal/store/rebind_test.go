package store

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT ? , ?", "SELECT $1 , $2"},
		{"UPDATE t SET a = ? WHERE b = '?' AND c = ?", "UPDATE t SET a = $1 WHERE b = '?' AND c = $2"},
		{`SELECT "we?ird" FROM t WHERE x = ?`, `SELECT "we?ird" FROM t WHERE x = $1`},
		{"SELECT 'it''s ?' , ?", "SELECT 'it''s ?' , $1"},
		{"SELECT ? -- why?\n, ?", "SELECT $1 -- why?\n, $2"},
		{"SELECT ? /* a ? b */ , ?", "SELECT $1 /* a ? b */ , $2"},
		{"SELECT 'unterminated ?", "SELECT 'unterminated ?"},
		{"SELECT ? -- to the end ?", "SELECT $1 -- to the end ?"},
		{"type LIKE ? ESCAPE '\\'", "type LIKE $1 ESCAPE '\\'"},
	} {
		if got := rebind(c.in); got != c.want {
			t.Errorf("rebind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

var (
	numbered      = regexp.MustCompile(`\$[0-9]+`)
	questionDigit = regexp.MustCompile(`\?[0-9]`)
)

// FuzzRebind: rebind only ever turns a ? into the next $n: numbering
// back to ? gives the input, the numbers count up from 1, and a query
// without ? is returned as it is.
func FuzzRebind(f *testing.F) {
	for _, s := range []string{"SELECT ?", "a = '?' AND b = ?", `"?" ?`, "? -- ?\n?", "? /* ? */ ?", "'", "/*", "--"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if strings.Contains(in, "$") || questionDigit.MatchString(in) {
			return // the check maps $n back to ?; SQLite's numbered ?NNN is not used (rebind keeps the digits after $n)
		}
		out := rebind(in)
		if back := numbered.ReplaceAllString(out, "?"); back != in {
			t.Fatalf("rebind(%q) = %q: more than ? changed", in, out)
		}
		for i, m := range numbered.FindAllString(out, -1) {
			if m != "$"+strconv.Itoa(i+1) {
				t.Fatalf("rebind(%q) = %q: parameter %d is %s", in, out, i+1, m)
			}
		}
		if strings.Count(out, "$") > strings.Count(in, "?") {
			t.Fatalf("rebind(%q) = %q: more parameters than ?", in, out)
		}
	})
}
