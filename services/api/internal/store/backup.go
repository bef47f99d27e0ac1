package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Backup writes a consistent copy of the store to dest while the store is
// in use (see BackupFile).
func (s *Store) Backup(ctx context.Context, dest string) error {
	if s.Postgres() {
		return fmt.Errorf("store: backup: %w: the store is a PostgreSQL database; back it up with pg_dump (deploy/README.md)", ErrUnsupported)
	}
	return BackupFile(ctx, s.path, dest, s.opts.BusyTimeout.Milliseconds())
}

// BackupFile writes a consistent online copy of the store file src to
// dest with VACUUM INTO: it reads one snapshot of the WAL-mode database
// through its own read connection, so writers (the running api) go on
// meanwhile, and the copy holds every transaction committed before the
// snapshot and none after. The copy is written next to dest, fsynced, then
// linked to dest, which must not exist (ErrExists): an existing file is
// never overwritten and a partial copy is never left under dest's name.
// It neither creates nor migrates src.
func BackupFile(ctx context.Context, src, dest string, busyTimeoutMs int64) error {
	if strings.ContainsAny(src, "?#") || strings.ContainsAny(dest, "?#") {
		return fmt.Errorf("store: backup: %w: '?' and '#' are not allowed in file names", ErrInvalid)
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("store: backup: the store: %w", err)
	}
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("store: backup: %s: %w", dest, ErrExists)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(dest), "."+filepath.Base(dest)+".partial-"+hex.EncodeToString(rnd[:]))
	defer os.Remove(tmp) //nolint:errcheck // gone after the link; a leftover on failure

	db, err := sql.Open("sqlite", fmt.Sprintf("%s?_busy_timeout=%d", src, max(busyTimeoutMs, 1)))
	if err != nil {
		return fmt.Errorf("store: backup: opening %s: %w", src, err)
	}
	db.SetMaxOpenConns(1)
	_, err = db.ExecContext(ctx, "VACUUM INTO ?", tmp)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: backup: VACUUM INTO %s: %w", tmp, err)
	}
	if err := syncPath(tmp); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := os.Link(tmp, dest); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("store: backup: %s: %w", dest, ErrExists)
		}
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("store: backup: removing %s: %w", tmp, err)
	}
	if err := syncPath(filepath.Dir(dest)); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}

// syncPath fsyncs a file or directory.
func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", p, err)
	}
	return f.Close()
}
