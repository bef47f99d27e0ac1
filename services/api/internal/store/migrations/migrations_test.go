package migrations

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
	_ "modernc.org/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestVersionsAreConsecutive(t *testing.T) {
	for i, m := range All(SQLite) {
		if m.Version != i+1 {
			t.Fatalf("%s has version %d, want %d: versions are 1..n without gaps", m.Name, m.Version, i+1)
		}
		if strings.TrimSpace(m.SQL) == "" {
			t.Fatalf("%s is empty", m.Name)
		}
	}
	if Latest() != len(All(SQLite)) {
		t.Fatalf("Latest %d, %d files", Latest(), len(All(SQLite)))
	}
}

// Both dialects have the same steps, under the same names.
func TestDialectsHaveTheSameSteps(t *testing.T) {
	lite, pg := All(SQLite), All(Postgres)
	if len(lite) != len(pg) {
		t.Fatalf("%d SQLite steps, %d PostgreSQL steps", len(lite), len(pg))
	}
	for i := range lite {
		if lite[i].Version != pg[i].Version || lite[i].Name != pg[i].Name {
			t.Fatalf("step %d: sqlite/%s, postgres/%s", i+1, lite[i].Name, pg[i].Name)
		}
		if strings.TrimSpace(pg[i].SQL) == "" {
			t.Fatalf("postgres/%s is empty", pg[i].Name)
		}
	}
}

func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_foreign_keys=1")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestUpStepByStepAndIdempotent(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "m.db"))
	for v := 1; v <= Latest(); v++ {
		from, to, err := Up(ctx, db, SQLite, v)
		if err != nil || from != v-1 || to != v {
			t.Fatalf("Up to %d: from %d to %d, %v", v, from, to, err)
		}
	}
	from, to, err := Up(ctx, db, SQLite, Latest())
	if err != nil || from != Latest() || to != Latest() {
		t.Fatalf("second Up: from %d to %d, %v", from, to, err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'messages'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("messages table: %d, %v", n, err)
	}
}

func TestUpRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "m.db"))
	if _, err := db.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	_, _, err := Up(ctx, db, SQLite, Latest())
	var tooNew *TooNewError
	if !errors.As(err, &tooNew) || tooNew.File != 999 || tooNew.Known != Latest() {
		t.Fatalf("err %v", err)
	}
	if v, _ := Version(ctx, db, SQLite); v != 999 {
		t.Fatalf("version changed to %d", v)
	}
}
