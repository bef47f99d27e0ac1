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
		{"--operator", "A1"},
		{"--operator", "A1:2320x"},
		{"--operator", ":23201"},
	} {
		if _, err := parseConfig(args, io.Discard); err == nil {
			t.Errorf("parseConfig(%q) accepted bad input", args)
		}
	}
}

// Several simulated modems behind one api are different SIMs on
// different networks.
func TestParseConfigIdentity(t *testing.T) {
	c, err := parseConfig([]string{"--imsi", "262011234567890", "--iccid", "8949011234567890123", "--imei", "861234567890124",
		"--operator", "Telekom.de:26201"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.imsi != "262011234567890" || c.iccid != "8949011234567890123" || c.imei != "861234567890124" ||
		c.network == nil || c.network.Operator != "Telekom.de" || c.network.OperatorNumeric != "26201" || c.network.Reg != 1 {
		t.Fatalf("config %+v network %+v", c, c.network)
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
	c, err = parseConfig([]string{"--", "relay", "--device", "/dev/ttyUSB2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.child, " ") != "relay --device /dev/ttyUSB2" {
		t.Fatalf("child command %q", c.child)
	}
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "simulator")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// waitExit waits up to 10 s for cmd and returns its exit code.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("wait: %v", err)
		}
		return cmd.ProcessState.ExitCode()
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("still running after 10 s")
		return -1
	}
}

// TestChildSeesDeviceAndSetsExitCode runs a child that checks the link is
// there when it starts; the simulator exits with the child's status and
// removes the link.
func TestChildSeesDeviceAndSetsExitCode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	link := filepath.Join(t.TempDir(), "ttyUSB2")
	cmd := exec.Command(bin, "--link", link, "--control", "127.0.0.1:0", "--", "sh", "-c", `test -c "$1" && exit 3; exit 9`, "sh", link)
	if code := waitExit(t, startQuiet(t, cmd)); code != 3 {
		t.Fatalf("exit code %d, want the child's 3 (9: the child did not find the device)", code)
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("link left behind: %v", err)
	}
}

// TestChildGetsSIGTERM checks that SIGTERM to the simulator stops its child
// and the simulator exits 0.
func TestChildGetsSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "started")
	cmd := exec.Command(bin, "--link", filepath.Join(dir, "ttyUSB2"), "--control", "127.0.0.1:0", "--",
		"sh", "-c", `trap 'exit 0' TERM; touch "$1"; while :; do sleep 0.05; done`, "sh", marker)
	startQuiet(t, cmd)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("child never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
}

func TestChildMissing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	cmd := exec.Command(bin, "--link", filepath.Join(t.TempDir(), "ttyUSB2"), "--control", "127.0.0.1:0", "--", "/nonexistent/relay")
	if code := waitExit(t, startQuiet(t, cmd)); code != 1 {
		t.Fatalf("exit code %d for a child that cannot start, want 1", code)
	}
}

func startQuiet(t *testing.T, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("simulator output:\n%s", out.String())
		}
	})
	return cmd
}

// TestBinary runs the real binary: it prints its device and control
// address, serves the control API, and on SIGTERM exits 0 and removes its
// link.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	link := filepath.Join(t.TempDir(), "ttyUSB2")
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
