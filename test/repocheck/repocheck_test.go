// Package repocheck tests scripts/check-repo, the check that keeps compiled
// programs, unlisted large files and paths outside the repository out of git.
package repocheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// script is scripts/check-repo of this repository.
func script(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate this test file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "scripts", "check-repo")
}

// repo makes a git repository holding the script and the given files (all
// tracked) and returns its directory.
func repo(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile(script(t))
	if err != nil {
		t.Fatal(err)
	}
	files["scripts/check-repo"] = src
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

// run runs the script in dir and returns its exit code and output.
func run(t *testing.T, dir string) (int, string) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(dir, "scripts", "check-repo"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		t.Fatalf("check-repo: %v\n%s", err, out)
	}
	return 0, string(out)
}

func TestCheckRepo(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	self, err := os.ReadFile("/proc/self/exe") // this test binary: a real ELF program
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x\n"), 600_000) // 1.2 MB of text
	outside := "see " + "../sha" + "red/reference/x.md\n"
	machine := "open /wo" + "rk/main/x\n"
	cases := []struct {
		name  string
		files map[string][]byte
		fail  string // "" when the check passes, else a text of its message
	}{
		{"clean", map[string][]byte{"a.go": []byte("package a\n"), "docs/x.md": []byte("../docs/y.md\n")}, ""},
		{"compiled program", map[string][]byte{"cmd/tool/tool": self}, "compiled program (ELF executable)"},
		{"compiled program with a text name", map[string][]byte{"notes.txt": self[:4096]}, "notes.txt is a compiled program"},
		{"large file", map[string][]byte{"data/big.txt": big}, "data/big.txt is 1200000 bytes"},
		{"large file allowed", map[string][]byte{"data/big.txt": big, ".ci/large-files": []byte("# a fixture\ndata/big.txt\n")}, ""},
		{"path outside the repository", map[string][]byte{"README.md": []byte(outside)}, "paths outside the repository"},
		{"machine path", map[string][]byte{"run.sh": []byte(machine)}, "run.sh:1:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := run(t, repo(t, c.files))
			switch {
			case c.fail == "" && code != 0:
				t.Fatalf("exit %d, want 0:\n%s", code, out)
			case c.fail != "" && code != 1:
				t.Fatalf("exit %d, want 1:\n%s", code, out)
			case c.fail != "" && !strings.Contains(out, c.fail):
				t.Fatalf("output lacks %q:\n%s", c.fail, out)
			}
		})
	}
}
