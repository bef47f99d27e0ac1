// Package sentinel removes an in-band marker (the relay's heartbeat) from a
// byte stream that arrives in arbitrary chunks.
//
// A Stripper is a Knuth–Morris–Pratt matcher run as a streaming state
// machine: it keeps back only the bytes that are still a possible start of
// the sentinel, and releases them as soon as a following byte rules that out.
// The result over any chunking equals bytes.ReplaceAll(stream, sentinel, nil)
// (leftmost, non-overlapping), once Flush has released what was held at the
// end. The caller decides how long held bytes may wait (see Pending and
// Flush); the relay bounds it so that a command ending in '<' still reaches
// the modem.
package sentinel

import "errors"

// Stripper removes every occurrence of a sentinel from a stream. It is not
// safe for concurrent use; the zero value is not usable, call New.
type Stripper struct {
	pat  []byte
	fail []int // fail[i]: length of the longest proper border of pat[:i+1]
	k    int   // bytes of pat matched so far, and held back: pat[:k]
}

// New returns a Stripper for sentinel, which must not be empty.
func New(sentinel []byte) (*Stripper, error) {
	if len(sentinel) == 0 {
		return nil, errors.New("sentinel: empty sentinel")
	}
	pat := append([]byte(nil), sentinel...)
	fail := make([]int, len(pat))
	for i, k := 1, 0; i < len(pat); i++ {
		for k > 0 && pat[i] != pat[k] {
			k = fail[k-1]
		}
		if pat[i] == pat[k] {
			k++
		}
		fail[i] = k
	}
	return &Stripper{pat: pat, fail: fail}, nil
}

// Strip consumes p and appends to dst every byte that is certainly not part
// of a sentinel, in order. It returns the extended dst and how many complete
// sentinels it removed. Bytes that may still start a sentinel are kept back
// (see Pending) and come out of a later Strip or Flush.
func (s *Stripper) Strip(dst, p []byte) ([]byte, int) {
	found := 0
	pat, k := s.pat, s.k
	for _, b := range p {
		if k > 0 && pat[k] != b {
			// Fall back along the borders; the held bytes that are no longer
			// a possible sentinel start are released, oldest first.
			k0 := k
			for k > 0 && pat[k] != b {
				k = s.fail[k-1]
			}
			dst = append(dst, pat[:k0-k]...)
		}
		if pat[k] == b {
			k++
			if k == len(pat) {
				found++
				k = 0
			}
			continue
		}
		dst = append(dst, b)
	}
	s.k = k
	return dst, found
}

// Pending returns the bytes held back because they may start a sentinel.
// The slice aliases internal state; do not modify it.
func (s *Stripper) Pending() []byte { return s.pat[:s.k] }

// Flush appends the held-back bytes to dst and forgets them: they are data
// after all, and a sentinel that continues later is not recognised.
func (s *Stripper) Flush(dst []byte) []byte {
	dst = append(dst, s.pat[:s.k]...)
	s.k = 0
	return dst
}

// Reset forgets any held-back bytes without releasing them.
func (s *Stripper) Reset() { s.k = 0 }
