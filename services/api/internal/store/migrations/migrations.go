// Package migrations holds the message store's schema as embedded, numbered
// SQL files, one directory per dialect (sqlite/, postgres/), and applies
// them. Both dialects have the same steps under the same names; they
// differ in types only (the package's tests check that the two directories
// name the same versions).
//
// File NNNN_name.sql brings the schema from version NNNN-1 to NNNN, in one
// transaction together with the new version number, so a crash during an
// upgrade leaves the database at the old version, intact. The version is
// SQLite's PRAGMA user_version, and in PostgreSQL the one row of the table
// schema_version; there, Up holds an advisory lock, so that several api
// instances starting at once upgrade the database once.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// Dialect is the SQL database engine a schema is for.
type Dialect string

// The dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Migration is one schema step.
type Migration struct {
	Version int    // the schema version after this step (1, 2, ...)
	Name    string // the file name, e.g. "0001_init.sql"
	SQL     string
}

// All returns the embedded migrations of dialect d in version order. The
// versions are 1..n without gaps (checked by the package's tests).
func All(d Dialect) []Migration {
	entries, err := fs.ReadDir(files, string(d))
	if err != nil {
		panic(fmt.Sprintf("migrations: reading the embedded files of %s: %v", d, err)) // embedded at build time
	}
	var out []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			panic(fmt.Sprintf("migrations: %s/%s: the name must start with a number and '_'", d, e.Name()))
		}
		b, err := files.ReadFile(string(d) + "/" + e.Name())
		if err != nil {
			panic(fmt.Sprintf("migrations: reading %s/%s: %v", d, e.Name(), err))
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out
}

// Latest is the schema version this binary knows (the same in both
// dialects).
func Latest() int {
	all := All(SQLite)
	return all[len(all)-1].Version
}

// TooNewError is returned when the database's schema is newer than this
// binary knows: it was written by a newer api, and an older one must not
// touch it.
type TooNewError struct {
	File, Known int
}

func (e *TooNewError) Error() string {
	return fmt.Sprintf("the database has schema version %d, newer than version %d that this api knows: "+
		"it was written by a newer api; run that version (or restore a backup made by this one)", e.File, e.Known)
}

// querier is what Version reads with: a *sql.DB, *sql.Conn or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Version reads the schema version of db (0 for an empty database).
func Version(ctx context.Context, db querier, d Dialect) (int, error) {
	var v int
	var err error
	switch d {
	case SQLite:
		err = db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	case Postgres:
		// Up creates the table before it reads the version.
		err = db.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&v)
	default:
		return 0, fmt.Errorf("unknown dialect %q", d)
	}
	if err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	return v, nil
}

// upgradeLock is the PostgreSQL advisory lock key Up holds ("SMAPmigr").
const upgradeLock = 0x534d41506d696772

// Up applies every migration of dialect d above the database's version up
// to target (Latest() for all), each in its own transaction, and returns
// the version before and after. A database newer than Latest() gives a
// *TooNewError and is not changed. With SQLite, db must be the store's one
// writer connection (or hold no other writer); with PostgreSQL any pool:
// Up takes a session advisory lock on one of its connections for the
// upgrade.
func Up(ctx context.Context, db *sql.DB, d Dialect, target int) (from, to int, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("migrations: %w", err)
	}
	defer conn.Close()
	if d == Postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(upgradeLock)); err != nil {
			return 0, 0, fmt.Errorf("migrations: taking the upgrade lock: %w", err)
		}
		defer func() {
			if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(upgradeLock)); uerr != nil {
				err = errors.Join(err, fmt.Errorf("migrations: releasing the upgrade lock: %w", uerr))
			}
		}()
		if _, err := conn.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); err != nil {
			return 0, 0, fmt.Errorf("migrations: creating schema_version: %w", err)
		}
	}
	from, err = Version(ctx, conn, d)
	if err != nil {
		return 0, 0, err
	}
	if latest := Latest(); from > latest {
		return from, from, &TooNewError{File: from, Known: latest}
	}
	to = from
	for _, m := range All(d) {
		if m.Version <= to || m.Version > target {
			continue
		}
		if err := apply(ctx, conn, d, m); err != nil {
			return from, to, err
		}
		to = m.Version
	}
	return from, to, nil
}

func apply(ctx context.Context, conn *sql.Conn, d Dialect, m Migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: %w", m.Name, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if err := setVersion(ctx, tx, d, m.Version); err != nil {
		return fmt.Errorf("migration %s: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: commit: %w", m.Name, err)
	}
	return nil
}

// SetVersion sets the recorded schema version (tests use it to simulate a
// database written by a newer api).
func SetVersion(ctx context.Context, db *sql.DB, d Dialect, v int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if d == Postgres {
		if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"); err != nil {
			return err
		}
	}
	if err := setVersion(ctx, tx, d, v); err != nil {
		return err
	}
	return tx.Commit()
}

func setVersion(ctx context.Context, tx *sql.Tx, d Dialect, v int) error {
	switch d {
	case SQLite:
		if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(v)); err != nil {
			return fmt.Errorf("setting user_version: %w", err)
		}
	case Postgres:
		if _, err := tx.ExecContext(ctx, "DELETE FROM schema_version"); err != nil {
			return fmt.Errorf("setting the schema version: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version) VALUES ("+strconv.Itoa(v)+")"); err != nil {
			return fmt.Errorf("setting the schema version: %w", err)
		}
	default:
		return fmt.Errorf("unknown dialect %q", d)
	}
	return nil
}
