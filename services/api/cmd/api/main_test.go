package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestBadConfigExits2NamingTheVariable(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(nil, env(map[string]string{"API_HEARTBEAT": "9s", "API_DATA_DIR": t.TempDir()}), &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "API_HEARTBEAT") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

func TestHealthcheckFailsWithoutServer(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	var errb bytes.Buffer
	if code := run([]string{"healthcheck"}, env(map[string]string{"API_LISTEN": addr}), &bytes.Buffer{}, &errb); code != 1 {
		t.Fatalf("healthcheck exit %d", code)
	}
}

// With API_DATABASE_URL set, api backup refuses (PostgreSQL is backed up
// with pg_dump) and writes nothing.
func TestBackupRefusesPostgreSQL(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "copy.db")
	var out, errb bytes.Buffer
	code := run([]string{"backup", file}, env(map[string]string{"API_DATA_DIR": dir, "API_DATABASE_URL": "postgres://api:s3cret@db/sms"}),
		&out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "pg_dump") || !strings.Contains(errb.String(), "API_DATABASE_URL") ||
		strings.Contains(errb.String(), "s3cret") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal("a file was written")
	}
}

// A database URL that is not PostgreSQL's stops the api with exit 2,
// naming the variable and not the password.
func TestBadDatabaseURLExits2(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(nil, env(map[string]string{"API_DATABASE_URL": "mysql://api:s3cret@db/sms", "API_DATA_DIR": t.TempDir()}), &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "API_DATABASE_URL") || strings.Contains(errb.String(), "s3cret") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

func TestAdvertisedTakesTheListenersPort(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 41234}
	if got := advertised("http://gw-1:0", addr); got != "http://gw-1:41234" {
		t.Fatalf("got %q", got)
	}
	if got := advertised("http://gw-1:8090", &net.TCPAddr{IP: net.IPv6zero, Port: 8090}); got != "http://gw-1:8090" {
		t.Fatalf("got %q", got)
	}
}
