package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/config"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

const backupUsage = "usage: api backup [flags] FILE: an online copy of API_DATA_DIR/" + store.FileName +
	" (flags and API_* variables as for the api) into FILE, which must not exist"

// backup is `api backup [flags] FILE`: a consistent copy of the message
// store, safe while the api runs and writes. Exit 0 when FILE is written,
// 1 when it cannot be (FILE exists, no store, I/O), 2 for bad usage
// (API_DATABASE_URL set: PostgreSQL is backed up with pg_dump).
func backup(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[len(args)-1], "-") {
		fmt.Fprintln(stderr, "api backup:", backupUsage)
		return 2
	}
	file := args[len(args)-1]
	cfg, err := config.Parse(args[:len(args)-1], getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, backupUsage)
			return 0
		}
		for _, l := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(stderr, "api backup:", l)
		}
		return 2
	}
	if cfg.DatabaseURL != "" {
		fmt.Fprintln(stderr, "api backup: API_DATABASE_URL is set: the store is in PostgreSQL, which this command does not copy; "+
			"back it up with pg_dump (e.g. pg_dump -Fc -f FILE \"$API_DATABASE_URL\")")
		return 2
	}
	src := filepath.Join(cfg.DataDir, store.FileName)
	if _, err := os.Stat(src); err != nil {
		fmt.Fprintf(stderr, "api backup: no message store to back up: %v\n", err)
		return 1
	}
	if _, err := os.Lstat(file); err == nil {
		fmt.Fprintf(stderr, "api backup: %s already exists; not overwriting it\n", file)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	if err := store.BackupFile(ctx, src, file, store.DefaultBusyTimeout.Milliseconds()); err != nil {
		if errors.Is(err, store.ErrExists) {
			fmt.Fprintf(stderr, "api backup: %s already exists; not overwriting it\n", file)
			return 1
		}
		fmt.Fprintln(stderr, "api backup:", err)
		return 1
	}
	var size int64
	if fi, err := os.Stat(file); err == nil {
		size = fi.Size()
	}
	fmt.Fprintf(stdout, "api backup: wrote %s (%d bytes) from %s in %v\n", file, size, src, time.Since(start).Round(time.Millisecond))
	return 0
}
