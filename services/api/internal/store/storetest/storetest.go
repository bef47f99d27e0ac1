// Package storetest opens stores for the tests of the packages built on
// the store: the SQLite file of one api instance, or, in a PostgreSQL run
// (pgtest.MainServer), a Store per instance on one database, as several
// api instances share it. Test support only: no binary imports it.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/services/api/pgtest"
)

// Instances opens the store of n api instances, closed at the test's
// end: with pg nil one SQLite store in a temporary directory, which all n
// share (SQLite has one api per file); else a Store each on a new
// database of pg.
func Instances(t testing.TB, pg *pgtest.Server, n int) []*store.Store {
	t.Helper()
	ctx := context.Background()
	var out []*store.Store
	if pg == nil {
		st, err := store.Open(ctx, filepath.Join(t.TempDir(), store.FileName), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		for range n {
			out = append(out, st)
		}
		return out
	}
	url := pg.NewDatabase(t)
	for range n {
		st, err := store.OpenPostgres(ctx, url, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		out = append(out, st)
	}
	return out
}
