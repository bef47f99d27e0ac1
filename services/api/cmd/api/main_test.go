package main

import (
	"bytes"
	"net"
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
