//go:build linux

package main

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseConfigRejectsBadValues(t *testing.T) {
	for _, args := range [][]string{
		{"--link", ""},
		{"--control", "nohostport"},
		{"--profile", "fast"},
		{"--seed", "x"},
		{"--log-level", "loud"},
		{"extra"},
	} {
		if _, err := parseConfig(args, io.Discard); err == nil {
			t.Errorf("parseConfig(%q) accepted bad input", args)
		}
	}
}

func TestParseConfigEnvAndFlags(t *testing.T) {
	t.Setenv("SIM_LINK", "/tmp/from-env")
	t.Setenv("SIM_PROFILE", "realistic")
	c, err := parseConfig([]string{"--seed", "42"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.link != "/tmp/from-env" || c.seed != 42 || c.control != "127.0.0.1:8091" {
		t.Fatalf("config %+v", c)
	}
	c, err = parseConfig([]string{"--link", "/tmp/from-flag"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.link != "/tmp/from-flag" {
		t.Fatalf("flag did not override env: %+v", c)
	}
}

// TestBinary runs the real binary: it prints its device and control
// address, serves the control API, and on SIGTERM exits 0 and removes its
// link.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "simulator")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	link := filepath.Join(dir, "ttyUSB2")
	cmd := exec.Command(bin, "--control", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "SIM_LINK="+link)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	lines := bufio.NewScanner(out)
	var ctl string
	for ctl == "" && lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "control API:  "); ok {
			ctl = rest
		}
	}
	if ctl == "" {
		t.Fatal("binary never printed its control address")
	}
	go io.Copy(io.Discard, out) // drain the logs until the process exits
	resp, err := http.Get(ctl + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %s", resp.Status)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Fatalf("link not there while running: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10 s after SIGTERM")
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("link left behind after SIGTERM: %v", err)
	}
}
