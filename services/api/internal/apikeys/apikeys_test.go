package apikeys

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheck(t *testing.T) {
	s := New([]string{"user-key-0123456789"}, []string{"admin-key-0123456789"})
	for k, want := range map[string]Role{
		"user-key-0123456789": User, "admin-key-0123456789": Admin, "": None,
		"user-key-012345678": None, "admin-key-0123456789 ": None,
	} {
		if got := s.Check(k); got != want {
			t.Errorf("Check(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestGenerateOnceThenReuse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, gen, err := Load(nil, nil, dir)
	if err != nil || gen == "" || s.Check(gen) != Admin {
		t.Fatalf("first load: %v %q", err, gen)
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, fi)
	}
	s2, gen2, err := Load(nil, nil, dir)
	if err != nil || gen2 != "" || s2.Check(gen) != Admin {
		t.Fatalf("second load: %v %q", err, gen2)
	}
	// Configured keys win; the file is not consulted.
	s3, gen3, err := Load([]string{"configured-user-key"}, nil, dir)
	if err != nil || gen3 != "" || s3.Check(gen) != None || s3.Check("configured-user-key") != User {
		t.Fatalf("configured: %v", err)
	}
}

func TestBadFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("root abcdefabcdefabcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(nil, nil, dir); err == nil {
		t.Fatal("no error for an unknown role")
	}
}
