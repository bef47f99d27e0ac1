package submit

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// prefixRouter: +43 goes via "at", everything else via any modem; known
// modems are "at" and "de".
type prefixRouter struct{}

func (prefixRouter) Route(modem, to string) ([]string, error) {
	switch {
	case modem == "at" || modem == "de":
		return []string{modem}, nil
	case modem != "":
		return nil, errors.New("no modem " + modem)
	case strings.HasPrefix(to, "+43"):
		return []string{"at"}, nil
	}
	return nil, nil
}

func (prefixRouter) DefaultCountry(modem string) string {
	if modem == "de" {
		return "49"
	}
	return "43"
}

func newSubmitter(t *testing.T) (*Submitter, *[]string) {
	t.Helper()
	st, err := store.OpenDir(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var accepted []string
	ops := modemops.New(modemops.Config{})
	return New(Config{Store: st, Prepare: ops.Prepare, Router: prefixRouter{},
		Accepted: func(m *store.Message) { accepted = append(accepted, m.ID) }}), &accepted
}

func ptr(s string) *string { return &s }

func TestSubmitRoutesAndDeduplicates(t *testing.T) {
	s, accepted := newSubmitter(t)
	ctx := context.Background()
	m, created, err := s.Submit(ctx, Request{ID: "k1", To: "0660 1234567", Text: ptr("hallo")})
	if err != nil || !created || m.Peer != "+436601234567" || !slices.Equal(m.Route, []string{"at"}) {
		t.Fatalf("national +43 number: %+v created=%v err=%v", m, created, err)
	}
	// The same request again (an MQTT redelivery, a client retry): the
	// stored message, not a second one.
	again, created, err := s.Submit(ctx, Request{ID: "k1", To: "0660 1234567", Text: ptr("hallo")})
	if err != nil || created || again.ID != m.ID {
		t.Fatalf("redelivery: %+v created=%v err=%v", again, created, err)
	}
	if _, _, err := s.Submit(ctx, Request{ID: "k1", To: "0660 1234567", Text: ptr("other")}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("same id, other text: %v", err)
	}
	// Pinned: that modem alone, national numbers in its country.
	de, _, err := s.Submit(ctx, Request{To: "0170 1234567", Text: ptr("x"), Modem: "de"})
	if err != nil || de.Peer != "+491701234567" || !slices.Equal(de.Route, []string{"de"}) {
		t.Fatalf("pinned: %+v %v", de, err)
	}
	any, _, err := s.Submit(ctx, Request{To: "+491701234567", DataHex: ptr("0102ff")})
	if err != nil || any.Route != nil || any.DataHex != "0102FF" {
		t.Fatalf("unrouted data message: %+v %v", any, err)
	}
	if want := []string{m.ID, de.ID, any.ID}; !slices.Equal(*accepted, want) {
		t.Fatalf("Accepted called for %v, want %v", *accepted, want)
	}
}

func TestSubmitNamesEveryBadField(t *testing.T) {
	s, accepted := newSubmitter(t)
	for _, c := range []struct {
		r      Request
		fields []string
	}{
		{Request{}, []string{"to", "text"}},
		{Request{To: "+436601234567", Text: ptr("")}, []string{"text"}},
		{Request{To: "+436601234567", Text: ptr("a"), DataHex: ptr("00")}, []string{"dataHex"}},
		{Request{To: "+436601234567", DataHex: ptr("0g")}, []string{"dataHex"}},
		{Request{To: "abc", Text: ptr("a"), Validity: "1s", SendAt: "tomorrow", ValidUntil: "2000-01-01T00:00:00Z", ID: "has space"},
			[]string{"to", "id", "validity", "sendAt", "validUntil"}},
		{Request{To: "+436601234567", Text: ptr("a"), Modem: "Nope"}, []string{"modem"}},
		{Request{To: "+436601234567", Text: ptr("a"), Modem: "fr"}, []string{"modem"}},
		{Request{To: "+436601234567", Text: ptr(strings.Repeat("x", 153*modemops.DefaultMaxParts+1))}, []string{"text"}},
	} {
		_, _, err := s.Submit(context.Background(), c.r)
		var ie *InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("%+v: %v, want InvalidError", c.r, err)
			continue
		}
		var got []string
		for _, f := range ie.Fields {
			got = append(got, f.Name)
		}
		slices.Sort(got)
		want := slices.Clone(c.fields)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%+v: fields %v, want %v (%v)", c.r, got, want, err)
		}
	}
	if len(*accepted) != 0 {
		t.Fatalf("invalid requests were accepted: %v", *accepted)
	}
}
