// Package migrations holds the message store's schema as embedded, numbered
// SQL files and applies them. The schema version is SQLite's
// PRAGMA user_version: file NNNN_name.sql brings the schema from version
// NNNN-1 to NNNN, in one transaction together with the new user_version, so
// a crash during an upgrade leaves the file at the old version, intact.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed *.sql
var files embed.FS

// Migration is one schema step.
type Migration struct {
	Version int    // the schema version after this step (1, 2, ...)
	Name    string // the file name, e.g. "0001_init.sql"
	SQL     string
}

// All returns the embedded migrations in version order. The versions are
// 1..n without gaps (checked by the package's tests).
func All() []Migration {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic(fmt.Sprintf("migrations: reading the embedded files: %v", err)) // embedded at build time
	}
	var out []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			panic(fmt.Sprintf("migrations: %s: the name must start with a number and '_'", e.Name()))
		}
		b, err := files.ReadFile(e.Name())
		if err != nil {
			panic(fmt.Sprintf("migrations: reading %s: %v", e.Name(), err))
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out
}

// Latest is the schema version this binary knows.
func Latest() int {
	all := All()
	return all[len(all)-1].Version
}

// TooNewError is returned when the file's schema is newer than this binary
// knows: it was written by a newer api, and an older one must not touch it.
type TooNewError struct {
	File, Known int
}

func (e *TooNewError) Error() string {
	return fmt.Sprintf("the database has schema version %d, newer than version %d that this api knows: "+
		"it was written by a newer api; run that version (or restore a backup made by this one)", e.File, e.Known)
}

// Version reads the schema version of db.
func Version(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	return v, nil
}

// Up applies every migration above the file's version up to target (Latest()
// for all), each in its own transaction, and returns the version before and
// after. A file newer than Latest() gives a *TooNewError and is not changed.
// db must be the store's one writer connection (or hold no other writer).
func Up(ctx context.Context, db *sql.DB, target int) (from, to int, err error) {
	from, err = Version(ctx, db)
	if err != nil {
		return 0, 0, err
	}
	if latest := Latest(); from > latest {
		return from, from, &TooNewError{File: from, Known: latest}
	}
	to = from
	for _, m := range All() {
		if m.Version <= to || m.Version > target {
			continue
		}
		if err := apply(ctx, db, m); err != nil {
			return from, to, err
		}
		to = m.Version
	}
	return from, to, nil
}

func apply(ctx context.Context, db *sql.DB, m Migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: %w", m.Name, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(m.Version)); err != nil {
		return fmt.Errorf("migration %s: setting user_version: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: commit: %w", m.Name, err)
	}
	return nil
}
