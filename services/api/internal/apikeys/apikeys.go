// Package apikeys holds the bearer keys of the api and checks presented
// keys in constant time. Keys come from the configuration; when none is
// configured, the first start generates one admin key into the data dir
// (file api-keys, mode 0600) and reports it once so that it can be printed.
package apikeys

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Role is what a key may do.
type Role int

const (
	None  Role = iota
	User       // send SMS, read status, USSD
	Admin      // also raw AT commands and SIM PIN
)

func (r Role) String() string {
	switch r {
	case User:
		return "user"
	case Admin:
		return "admin"
	}
	return "none"
}

// FileName is the generated key file in the data dir.
const FileName = "api-keys"

type key struct {
	sum  [32]byte
	role Role
}

// Store checks keys.
type Store struct{ keys []key }

// New returns a store of the given keys.
func New(user, admin []string) *Store {
	s := &Store{}
	for _, k := range user {
		s.keys = append(s.keys, key{sha256.Sum256([]byte(k)), User})
	}
	for _, k := range admin {
		s.keys = append(s.keys, key{sha256.Sum256([]byte(k)), Admin})
	}
	return s
}

// Len is the number of keys.
func (s *Store) Len() int { return len(s.keys) }

// Check returns the role of the presented key, None if it is unknown.
// Every configured key is compared, in constant time, whatever matches.
func (s *Store) Check(presented string) Role {
	if presented == "" {
		return None
	}
	sum := sha256.Sum256([]byte(presented))
	role := None
	for _, k := range s.keys {
		if subtle.ConstantTimeCompare(sum[:], k.sum[:]) == 1 && k.role > role {
			role = k.role
		}
	}
	return role
}

// Load returns the store for the configured keys. With none configured it
// reads the data dir's key file, creating it with one new admin key if it
// does not exist; generated is that new key ("" otherwise), to be shown
// once.
func Load(user, admin []string, dataDir string) (s *Store, generated string, err error) {
	if len(user)+len(admin) > 0 {
		return New(user, admin), "", nil
	}
	path := filepath.Join(dataDir, FileName)
	f, err := os.Open(path)
	if err == nil {
		defer f.Close()
		u, a, err := parse(f, path)
		if err != nil {
			return nil, "", err
		}
		return New(u, a), "", nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("apikeys: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, "", fmt.Errorf("apikeys: data dir: %w", err)
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return nil, "", fmt.Errorf("apikeys: %w", err)
	}
	k := "sma_" + hex.EncodeToString(b)
	content := "# bearer keys of the api: one \"<role> <key>\" per line, role user or admin\nadmin " + k + "\n"
	nf, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("apikeys: %w", err)
	}
	if _, err := nf.WriteString(content); err != nil {
		nf.Close()
		return nil, "", fmt.Errorf("apikeys: %w", err)
	}
	if err := nf.Close(); err != nil {
		return nil, "", fmt.Errorf("apikeys: %w", err)
	}
	return New(nil, []string{k}), k, nil
}

func parse(f *os.File, path string) (user, admin []string, err error) {
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		role, k, ok := strings.Cut(line, " ")
		k = strings.TrimSpace(k)
		if !ok || len(k) < 16 {
			return nil, nil, fmt.Errorf("apikeys: %s:%d: want \"<role> <key>\" with a key of at least 16 characters", path, n)
		}
		switch role {
		case "user":
			user = append(user, k)
		case "admin":
			admin = append(admin, k)
		default:
			return nil, nil, fmt.Errorf("apikeys: %s:%d: unknown role %q (user or admin)", path, n, role)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("apikeys: %s: %w", path, err)
	}
	if len(user)+len(admin) == 0 {
		return nil, nil, fmt.Errorf("apikeys: %s holds no key; delete it to generate one", path)
	}
	return user, admin, nil
}
